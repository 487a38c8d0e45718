// The upload page: send the chosen or dropped photo to /api/analyze, draw the answer.
"use strict";

(() => {
  const input = document.getElementById("file");
  const drop = document.getElementById("drop");
  const result = document.getElementById("result");
  const canvas = document.getElementById("photo");
  const summary = document.getElementById("summary");
  const faces = document.getElementById("faces");
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

  /** Posts `file`; resolves to the analysis or throws an Error with a message to show. */
  async function post(file) {
    let response;
    try {
      response = await fetch("/api/analyze", {
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

  async function analyze(file) {
    const request = ++latest;
    result.hidden = true;
    if (file.size > maxUploadBytes) {
      const mb = (maxUploadBytes / 1048576).toFixed(0);
      say(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; this server takes up to ${mb} MB.`, true);
      return;
    }
    say(`Analysing ${file.name}…`);
    let analysis;
    try {
      analysis = await post(file);
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
    result.hidden = false;
    say(`${file.name}: ${analysis.width}×${analysis.height}`);
  }

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
