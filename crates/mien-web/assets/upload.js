// The upload page: send the chosen or dropped photo to /api/analyze, draw the answer.
"use strict";

(() => {
  const input = document.getElementById("file");
  const drop = document.getElementById("drop");
  const result = document.getElementById("result");
  const canvas = document.getElementById("photo");
  const summary = document.getElementById("summary");
  const faces = document.getElementById("faces");
  const MAX_CANVAS_WIDTH = 1600;

  const say = mien.say;

  async function analyze(file) {
    say(`Analysing ${file.name}…`);
    result.hidden = true;
    let analysis;
    try {
      const response = await fetch("/api/analyze", {
        method: "POST",
        body: file,
        headers: { "content-type": file.type || "application/octet-stream" },
      });
      const body = await response.json();
      if (!response.ok) {
        say(`Could not analyse ${file.name}: ${body.error}`, true);
        return;
      }
      analysis = body;
    } catch (error) {
      say(`Could not reach the server: ${error}`, true);
      return;
    }
    // The browser shows the photo upright, as the server analysed it (EXIF orientation).
    let bitmap = null;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (_) {
      // The server decoded it but this browser cannot: show the results without the photo.
    }
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
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) analyze(file);
  });
})();
