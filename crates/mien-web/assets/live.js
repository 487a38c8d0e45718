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

  const grab = document.createElement("canvas");
  let socket = null;
  let stream = null;
  let inFlight = 0;
  let frames = 0;
  let arrivals = [];

  const say = mien.say;

  function sendFrame() {
    if (!socket || socket.readyState !== WebSocket.OPEN || inFlight >= IN_FLIGHT) return;
    inFlight += 1;
    grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
    grab.toBlob((blob) => {
      if (blob && socket && socket.readyState === WebSocket.OPEN) {
        socket.send(blob);
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
    const analysis = result.analysis;
    mien.draw(ctx, analysis, overlay.width / analysis.width);
    summary.textContent = mien.summary(analysis);
    mien.renderFaces(faces, analysis);
    document.body.dataset.faces = String(analysis.faces.length);
  }

  async function start() {
    startButton.disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 } },
        audio: false,
      });
    } catch (error) {
      say(`No camera: ${error.message}. Allow the camera for this page and try again.`, true);
      startButton.disabled = false;
      return;
    }
    video.srcObject = stream;
    await video.play();
    grab.width = overlay.width = WIDTH;
    grab.height = overlay.height = Math.round(WIDTH * video.videoHeight / video.videoWidth) || 480;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/api/live`);
    socket.addEventListener("open", () => {
      say("Live: frames go to the server as fast as it answers.");
      stopButton.disabled = false;
      for (let i = 0; i < IN_FLIGHT; i += 1) sendFrame();
    });
    socket.addEventListener("message", (event) => {
      inFlight -= 1;
      show(JSON.parse(event.data));
      sendFrame();
    });
    socket.addEventListener("close", () => {
      if (stream) say("The server closed the connection; press Start to reconnect.", true);
      stop();
    });
  }

  function stop() {
    if (socket) socket.close();
    socket = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    inFlight = 0;
    arrivals = [];
    startButton.disabled = false;
    stopButton.disabled = true;
  }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", () => {
    say("Stopped.");
    stop();
  });
})();
