// The webcam page: grab frames from the camera, send them over a WebSocket to /api/live
// (at most two in flight, so frames never queue up), draw each answer over the video.
"use strict";

(() => {
  const video = document.getElementById("video");
  const overlay = document.getElementById("overlay");
  const startButton = document.getElementById("start");
  const stopButton = document.getElementById("stop");
  const fpsLabel = document.getElementById("fps");
  const summary = document.getElementById("summary");
  const faces = document.getElementById("faces");
  const WIDTH = 640;
  const IN_FLIGHT = 2;
  const JPEG_QUALITY = 0.8;
  const LIVE_MESSAGE = "Live: frames go to the server as fast as it answers.";

  const grab = document.createElement("canvas");
  let socket = null;
  let stream = null;
  let inFlight = 0;
  let frames = 0;
  let arrivals = [];

  const say = mien.say;
  const status = document.getElementById("status");

  function sendFrame() {
    const ws = socket;
    if (!ws || ws.readyState !== WebSocket.OPEN || inFlight >= IN_FLIGHT) return;
    inFlight += 1;
    grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
    grab.toBlob((blob) => {
      if (ws !== socket) return; // stopped (or restarted) while encoding: drop the frame
      if (blob && ws.readyState === WebSocket.OPEN) {
        ws.send(blob);
      } else {
        inFlight -= 1;
      }
    }, "image/jpeg", JPEG_QUALITY);
  }

  function show(result) {
    frames += 1;
    const now = performance.now();
    arrivals.push(now);
    while (arrivals.length > 1 && arrivals[0] < now - 2000) arrivals.shift();
    if (arrivals.length > 1) {
      const fps = (arrivals.length - 1) / ((now - arrivals[0]) / 1000);
      fpsLabel.textContent = `${fps.toFixed(1)} FPS · server ${result.server_ms.toFixed(0)} ms/frame`;
      document.body.dataset.fps = fps.toFixed(1);
    }
    document.body.dataset.frames = String(frames);
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    if (result.error) {
      say(`Frame ${result.frame}: ${result.error}`, true);
      return;
    }
    if (status.classList.contains("error")) say(LIVE_MESSAGE);
    const analysis = result.analysis;
    mien.draw(ctx, analysis, overlay.width / analysis.width);
    summary.textContent = mien.summary(analysis);
    mien.renderFaces(faces, analysis);
    document.body.dataset.faces = String(analysis.faces.length);
  }

  async function start() {
    if (!window.isSecureContext || !navigator.mediaDevices) {
      say("Browsers give the camera only to pages served over https or from localhost: " +
          "open this page as http://127.0.0.1:PORT/live on the server's machine, or put the server behind https.", true);
      return;
    }
    startButton.disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 } },
        audio: false,
      });
      video.srcObject = stream;
      await video.play();
    } catch (error) {
      say(`No camera: ${error.message}. Allow the camera for this page and try again.`, true);
      stop();
      return;
    }
    grab.width = overlay.width = WIDTH;
    grab.height = overlay.height = Math.round(WIDTH * video.videoHeight / video.videoWidth) || 480;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/api/live`);
    socket = ws;
    ws.addEventListener("open", () => {
      if (ws !== socket) return;
      say(LIVE_MESSAGE);
      stopButton.disabled = false;
      for (let i = 0; i < IN_FLIGHT; i += 1) sendFrame();
    });
    ws.addEventListener("message", (event) => {
      if (ws !== socket) return; // an answer to a stopped session
      inFlight -= 1;
      show(JSON.parse(event.data));
      sendFrame();
    });
    ws.addEventListener("close", (event) => {
      if (ws !== socket) return; // the user stopped this session
      const why = event.reason ? `: ${event.reason}` : "";
      say(`The server closed the connection (code ${event.code}${why}); press Start to reconnect.`, true);
      stop();
    });
  }

  /** Ends the session: camera off, socket closed, overlay and counters cleared. */
  function stop() {
    const ws = socket;
    socket = null;
    if (ws) ws.close();
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    inFlight = 0;
    arrivals = [];
    overlay.getContext("2d").clearRect(0, 0, overlay.width, overlay.height);
    startButton.disabled = false;
    stopButton.disabled = true;
  }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", () => {
    say("Stopped.");
    stop();
  });
})();
