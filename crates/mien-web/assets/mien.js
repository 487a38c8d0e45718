// What the pages share: emotion names in each label set's order, drawing an analysis over
// an image, the per-face cards with probability bars, and a video's timeline and tracks.
"use strict";

const mien = (() => {
  // Index orders of `EmotionProbabilities.probabilities` (docs/API.md).
  const ORDERS = {
    fer2013: ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
    ferplus: ["neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt"],
  };
  const EMOJI = {
    angry: "😠", disgust: "🤢", fear: "😨", happy: "😄",
    sad: "😢", surprise: "😲", neutral: "😐", contempt: "😒",
  };
  const COLORS = {
    angry: "#d93025", disgust: "#188038", fear: "#9334e6", happy: "#f9ab00",
    sad: "#1a73e8", surprise: "#e8710a", neutral: "#80868b", contempt: "#a142f4",
  };

  const percent = (p) => `${Math.round(100 * p)}%`;

  /** Every emotion of a face with its probability, most probable first. */
  function emotionsOf(face) {
    const names = ORDERS[face.emotions.label_set] || [];
    return face.emotions.probabilities
      .map((p, i) => ({ name: names[i] || `class ${i}`, p }))
      .sort((a, b) => b.p - a.p);
  }

  /** Draws boxes, meshes (when analysed), eyes and labels of `analysis` on `ctx`; `scale` maps analysis pixels to canvas pixels. */
  function draw(ctx, analysis, scale) {
    const font = Math.max(13, Math.round(ctx.canvas.width / 45));
    ctx.lineWidth = Math.max(2, font / 6);
    ctx.font = `600 ${font}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    analysis.faces.forEach((face, i) => {
      const { x, y, width, height } = face.face;
      const color = COLORS[face.emotion] || "#2f6fdf";
      ctx.strokeStyle = color;
      ctx.strokeRect(x * scale, y * scale, width * scale, height * scale);
      const mesh = face.landmarks && face.landmarks.found;
      if (mesh) {
        ctx.fillStyle = "rgba(80, 255, 120, 0.85)";
        const r = Math.max(0.8, (width * scale) / 180);
        for (const [px, py] of mesh.points) {
          ctx.fillRect(px * scale - r, py * scale - r, 2 * r, 2 * r);
        }
      }
      for (const [ex, ey] of face.eyes || []) {
        ctx.fillStyle = color;
        ctx.beginPath();
        ctx.arc(ex * scale, ey * scale, ctx.lineWidth * 1.2, 0, 2 * Math.PI);
        ctx.fill();
      }
      const label = `${i + 1} ${face.emoji} ${face.emotion} ${percent(face.emotion_probability)} · smile ${face.smile.toFixed(1)}`;
      const pad = font / 4;
      const w = ctx.measureText(label).width + 2 * pad;
      const top = y * scale - font - 2 * pad >= 0 ? y * scale - font - 2 * pad : (y + height) * scale;
      ctx.fillStyle = color;
      ctx.fillRect(x * scale, top, w, font + 2 * pad);
      ctx.fillStyle = "#fff";
      ctx.fillText(label, x * scale + pad, top + pad);
    });
  }

  /** One line about the whole photo. */
  function summary(analysis) {
    const n = analysis.faces.length;
    if (n === 0) return "No faces found.";
    const rating = analysis.rating == null ? "" : ` · photo rating ${analysis.rating.toFixed(2)}`;
    return `${n} face${n === 1 ? "" : "s"}${rating}`;
  }

  function element(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /** Replaces the children of `list` with one card per face: top emotion, smile, eyes, bars. */
  function renderFaces(list, analysis) {
    list.replaceChildren(...analysis.faces.map((face, i) => {
      const card = element("li", "face");
      const title = element("h2");
      title.append(
        element("span", "emotion", `${i + 1}. ${face.emoji} ${face.emotion}`),
        element("span", "smile-score", `smile ${face.smile.toFixed(1)} / 10 (${face.smile_level})`),
      );
      card.append(title);
      if (face.eyes_open != null) {
        card.append(element("p", "eyes", `eyes open ${percent(face.eyes_open)}`));
      }
      const bars = element("div", "bars");
      for (const { name, p } of emotionsOf(face)) {
        const bar = element("div", "bar");
        const fill = element("span");
        fill.style.width = percent(p);
        fill.style.background = COLORS[name] || "";
        bar.append(fill);
        bars.append(element("span", "name", `${EMOJI[name] || ""} ${name}`), bar, element("span", "value", percent(p)));
      }
      card.append(bars);
      return card;
    }));
  }

  /** Draws each track's smile score (1–10) over time on `canvas`, points coloured by emotion. */
  function drawTimeline(canvas, video) {
    const ctx = canvas.getContext("2d");
    const { width, height } = canvas;
    const left = 36, bottom = 24, top = 8, right = 8;
    const end = Math.max(video.duration, 1e-3);
    const x = (t) => left + (t / end) * (width - left - right);
    const y = (smile) => top + (1 - (smile - 1) / 9) * (height - top - bottom);
    ctx.clearRect(0, 0, width, height);
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#5c6773";
    ctx.strokeStyle = "#d9dee5";
    ctx.lineWidth = 1;
    for (const smile of [1, 4, 7, 10]) {
      ctx.beginPath();
      ctx.moveTo(left, y(smile));
      ctx.lineTo(width - right, y(smile));
      ctx.stroke();
      ctx.fillText(String(smile), 8, y(smile));
    }
    ctx.fillText(`${end.toFixed(1)} s`, width - right - 40, height - bottom / 2);
    video.tracks.forEach((track, i) => {
      ctx.strokeStyle = `hsl(${(i * 97) % 360} 60% 45%)`;
      ctx.lineWidth = 2;
      ctx.beginPath();
      track.timeline.forEach(([t, smile], k) => (k ? ctx.lineTo(x(t), y(smile)) : ctx.moveTo(x(t), y(smile))));
      ctx.stroke();
      for (const [t, smile, emotion] of track.timeline) {
        ctx.fillStyle = COLORS[emotion] || "#2f6fdf";
        ctx.beginPath();
        ctx.arc(x(t), y(smile), 3, 0, 2 * Math.PI);
        ctx.fill();
      }
    });
  }

  /** Replaces the children of `list` with one card per track: its best moment and summary. */
  function renderTracks(list, video) {
    list.replaceChildren(...video.tracks.map((track, i) => {
      const card = element("li", "face track");
      const still = element("img");
      still.src = track.best_moment;
      still.alt = `face ${track.track} at its broadest smile`;
      const title = element("h2");
      title.append(
        element("span", "emotion", `#${track.track} ${EMOJI[track.dominant_emotion] || ""} ${track.dominant_emotion}`),
        element("span", "smile-score", `peak smile ${track.peak_smile.toFixed(1)} at ${track.peak_smile_seconds.toFixed(1)} s`),
      );
      title.style.borderBottom = `3px solid hsl(${(i * 97) % 360} 60% 45%)`;
      const seen = element("p", "eyes",
        `seen ${track.first_seconds.toFixed(1)}–${track.last_seconds.toFixed(1)} s, mean smile ${track.mean_smile.toFixed(1)}`);
      card.append(still, title, seen);
      return card;
    }));
  }

  /** Shows `message` in the page's status line, in red when it is an error. */
  function say(message, isError = false) {
    const status = document.getElementById("status");
    status.textContent = message;
    status.classList.toggle("error", isError);
  }

  return { draw, summary, renderFaces, drawTimeline, renderTracks, say };
})();
