// The upload page: send the chosen or dropped photo to /api/analyze (a video to /api/video),
// draw the answer; "Make it happier" sends the photo to /api/happier and shows the edit.
"use strict";

(() => {
  const input = document.getElementById("file");
  const drop = document.getElementById("drop");
  const result = document.getElementById("result");
  const canvas = document.getElementById("photo");
  const summary = document.getElementById("summary");
  const faces = document.getElementById("faces");
  const videoResult = document.getElementById("video-result");
  const timeline = document.getElementById("timeline");
  const videoSummary = document.getElementById("video-summary");
  const tracks = document.getElementById("tracks");
  const happierButton = document.getElementById("happier");
  const landmarks = document.getElementById("landmarks");
  const happierResult = document.getElementById("happier-result");
  const happierPhoto = document.getElementById("happier-photo");
  const happierSummary = document.getElementById("happier-summary");
  const say = mien.say;
  const MAX_CANVAS_WIDTH = 1600;

  // The server's upload limit, to refuse a too-large file before sending it.
  let maxUploadBytes = Infinity;
  fetch("/healthz")
    .then((response) => response.json())
    .then((health) => { maxUploadBytes = health.max_upload_bytes; })
    .catch(() => {});

  // Only the answer to the latest upload is shown, whatever order answers arrive in.
  let latest = 0;
  // The photo last analysed, for "Make it happier".
  let lastPhoto = null;

  /** Posts `file` to `path`; resolves to the answer or throws an Error with a message to show. */
  async function post(file, path = "/api/analyze") {
    let response;
    try {
      response = await fetch(path, {
        method: "POST",
        body: file,
        headers: { "content-type": file.type || "application/octet-stream" },
      });
    } catch (error) {
      throw new Error(`could not reach the server (${error.message})`);
    }
    let body;
    try {
      body = await response.json();
    } catch (_) {
      throw new Error(`the server answered ${response.status} without a JSON body`);
    }
    if (!response.ok) throw new Error(body.error || `the server answered ${response.status}`);
    return body;
  }

  /** A video: its tracks with their best moments, and the smile timeline. */
  async function analyzeVideo(file, request) {
    say(`Reading ${file.name} frame by frame…`);
    let video;
    try {
      video = await post(file, "/api/video");
    } catch (error) {
      if (request === latest) say(`${file.name}: ${error.message}`, true);
      return;
    }
    if (request !== latest) return;
    const n = video.tracks.length;
    videoSummary.textContent = n === 0
      ? "No faces found."
      : `${n} face${n === 1 ? "" : "s"} followed through ${video.duration.toFixed(1)} s (${video.frames} frames read)`;
    mien.drawTimeline(timeline, video);
    mien.renderTracks(tracks, video);
    videoResult.dataset.tracks = String(n);
    videoResult.hidden = false;
    say(video.warning ? `${file.name}: ${video.warning}` : `${file.name}: ${video.width}×${video.height}`, Boolean(video.warning));
  }

  /** The last photo with every face smiling more, and each face's smile before and after. */
  async function makeHappier() {
    const file = lastPhoto;
    if (!file) return;
    const request = latest;
    happierButton.disabled = true;
    say(`Making ${file.name} happier…`);
    let answer;
    try {
      answer = await post(file, "/api/happier?strength=1");
    } catch (error) {
      if (request === latest) say(`${file.name}: ${error.message}`, true);
      happierButton.disabled = false;
      return;
    }
    happierButton.disabled = false;
    if (request !== latest) return;
    happierPhoto.src = answer.image;
    const n = answer.smiles.length;
    happierSummary.textContent = n === 0
      ? "No faces to make happier."
      : answer.smiles.map((s, i) => `Face ${i + 1}: smile ${s.before.toFixed(1)} → ${s.after.toFixed(1)}`).join(" · ");
    happierResult.dataset.faces = String(n);
    happierResult.hidden = false;
    say(`${file.name}: made happier`);
  }

  async function analyze(file) {
    const request = ++latest;
    result.hidden = true;
    videoResult.hidden = true;
    happierResult.hidden = true;
    lastPhoto = null;
    if (file.size > maxUploadBytes) {
      const mb = (maxUploadBytes / 1048576).toFixed(0);
      say(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; this server takes up to ${mb} MB.`, true);
      return;
    }
    if ((file.type || "").startsWith("video/")) {
      await analyzeVideo(file, request);
      return;
    }
    say(`Analysing ${file.name}…`);
    let analysis;
    try {
      analysis = await post(file, landmarks.checked ? "/api/analyze?landmarks=true" : "/api/analyze");
    } catch (error) {
      if (request === latest) say(`${file.name}: ${error.message}`, true);
      return;
    }
    // The browser shows the photo upright, as the server analysed it (EXIF orientation).
    let bitmap = null;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (_) {
      // The server decoded it but this browser cannot: show the results without the photo.
    }
    if (request !== latest) return;
    const scale = Math.min(1, MAX_CANVAS_WIDTH / analysis.width);
    canvas.width = Math.round(analysis.width * scale);
    canvas.height = Math.round(analysis.height * scale);
    const ctx = canvas.getContext("2d");
    if (bitmap) ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    mien.draw(ctx, analysis, scale);
    summary.textContent = mien.summary(analysis);
    mien.renderFaces(faces, analysis);
    result.dataset.faces = String(analysis.faces.length);
    lastPhoto = file;
    happierButton.hidden = analysis.faces.length === 0;
    result.hidden = false;
    say(`${file.name}: ${analysis.width}×${analysis.height}`);
  }

  happierButton.addEventListener("click", makeHappier);
  // Turning the mesh on or off analyses the photo on show again.
  landmarks.addEventListener("change", () => {
    if (lastPhoto) analyze(lastPhoto);
  });
  input.addEventListener("change", () => {
    if (input.files.length > 0) analyze(input.files[0]);
    input.value = ""; // choosing the same file again analyses it again
  });
  // A file dropped anywhere on the page is analysed, never opened in place of the page.
  document.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  document.addEventListener("dragleave", (event) => {
    if (event.relatedTarget === null) drop.classList.remove("over");
  });
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) analyze(file);
  });
})();
