// mien-web in a real browser: headless Chromium, driven by playwright-core.
//
//   node crates/mien-web/e2e/browser.mjs --server target/debug/mien-web \
//        --camera target/e2e/camera.y4m --video target/e2e/clip.mp4 --out target/e2e
//
// 1. Upload page: a text file named .jpg shows the server's error; fixtures/astronaut.jpg
//    shows one face, "happy", a smile score; "Make it happier" shows the edited photo.
// 2. Upload page with a video (--video, an mp4 of the fixture photo): one track, "happy",
//    its best moment shown.
// 3. Live page: Chromium's fake camera plays the y4m clip; expect results to keep arriving
//    with one face, report the frames per second the page shows; stop and start again.
// Screenshots of both pages and a JSON summary go to --out. Exits non-zero on any failure.

import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const option = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? resolve(process.argv[i + 1]) : fallback;
};
const serverBinary = option("server", join(root, "target/debug/mien-web"));
const camera = option("camera", join(root, "target/e2e/camera.y4m"));
const video = option("video", join(root, "target/e2e/clip.mp4"));
const out = option("out", join(root, "target/e2e"));
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const photo = join(root, "fixtures/astronaut.jpg");
const LIVE_FRAMES = 60;
const pageErrors = [];
mkdirSync(out, { recursive: true });

/** Starts the server on a free port; resolves to its base URL once it listens. */
function startServer() {
  const server = spawn(serverBinary, ["--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const url = new Promise((resolveUrl, reject) => {
    let seen = "";
    server.stdout.on("data", (chunk) => {
      seen += chunk;
      const match = seen.match(/listening on (http:\/\/[\d.:]+)/);
      if (match) resolveUrl(match[1]);
    });
    server.on("exit", (code) => reject(new Error(`${serverBinary} exited with ${code} before listening`)));
    server.on("error", reject);
    const timer = setTimeout(() => reject(new Error("the server did not start within 60 s")), 60_000);
    timer.unref(); // never keeps node alive once the test is done
  });
  return { server, url };
}

async function uploadPage(browser, base) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (error) => pageErrors.push(`upload page: ${error}`));
  await page.goto(`${base}/`);
  // A text file named .jpg: the page shows the server's error, no result.
  await page.setInputFiles("#file", {
    name: "not-a-photo.jpg",
    mimeType: "image/jpeg",
    buffer: Buffer.from("this is a text file"),
  });
  await page.waitForSelector("#status.error", { timeout: 30_000 });
  const refusal = await page.textContent("#status");
  assert.match(refusal, /not-a-photo\.jpg: the upload is not an image/, refusal);
  assert.equal(await page.isHidden("#result"), true, "no result for a bad upload");

  await page.setInputFiles("#file", photo);
  await page.waitForSelector("#result:not([hidden])", { timeout: 30_000 });
  const faces = await page.getAttribute("#result", "data-faces");
  const cards = await page.locator(".face").count();
  const emotion = await page.locator(".face .emotion").first().textContent();
  const smileText = await page.locator(".face .smile-score").first().textContent();
  const smile = Number(smileText.match(/smile ([\d.]+) \/ 10/)?.[1]);
  const summary = await page.textContent("#summary");
  await page.screenshot({ path: join(out, "upload.png"), fullPage: true });
  // "Make it happier": the edited photo and the face's smile before and after.
  await page.click("#happier");
  await page.waitForSelector("#happier-result:not([hidden])", { timeout: 30_000 });
  const happierFaces = await page.getAttribute("#happier-result", "data-faces");
  const happierSummary = await page.textContent("#happier-summary");
  await page.waitForFunction(() => {
    const img = document.querySelector("#happier-photo");
    return img.complete && img.naturalWidth > 0;
  }, null, { timeout: 10_000 });
  const happierWidth = await page.$eval("#happier-photo", (img) => img.naturalWidth);
  await page.close();
  assert.equal(happierFaces, "1", "one face made happier");
  assert.match(happierSummary, /Face 1: smile [\d.]+ → [\d.]+/, happierSummary);
  assert.equal(happierWidth, 512, "the edited photo is shown at the photo's size");
  assert.equal(faces, "1", "the page reports one face");
  assert.equal(cards, 1, "one face card");
  assert.match(emotion, /happy/, "the astronaut smiles");
  assert.ok(smile >= 8 && smile <= 10, `smile score ${smileText}`);
  return { faces: Number(faces), emotion: emotion.trim(), smile, summary };
}

async function livePage(browser, base) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (error) => pageErrors.push(`live page: ${error}`));
  await page.goto(`${base}/live`);
  await page.click("#start");
  await page.waitForFunction(
    (n) => Number(document.body.dataset.frames || 0) >= n,
    LIVE_FRAMES,
    { timeout: 60_000, polling: 100 },
  );
  const state = await page.evaluate(() => ({
    frames: Number(document.body.dataset.frames),
    fps: Number(document.body.dataset.fps),
    faces: Number(document.body.dataset.faces),
    label: document.getElementById("fps").textContent,
    status: document.getElementById("status").textContent,
  }));
  await page.screenshot({ path: join(out, "live.png"), fullPage: true });
  // Stop, then start again at once: the new session must run on its own.
  await page.click("#stop");
  await page.click("#start");
  await page.waitForFunction(
    (n) => Number(document.body.dataset.frames || 0) >= n,
    state.frames + 20,
    { timeout: 60_000, polling: 100 },
  );
  const restarted = await page.evaluate(() => ({
    error: document.getElementById("status").classList.contains("error"),
    status: document.getElementById("status").textContent,
    stopEnabled: !document.getElementById("stop").disabled,
  }));
  await page.click("#stop");
  await page.close();
  assert.ok(!restarted.error && restarted.stopEnabled, `restart after stop: ${restarted.status}`);
  assert.equal(state.faces, 1, `one face in the fake camera's frames (${state.status})`);
  assert.ok(state.fps > 0, `a frame rate is shown: ${state.label}`);
  return state;
}

async function videoUpload(browser, base) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (error) => pageErrors.push(`upload page (video): ${error}`));
  await page.goto(`${base}/`);
  await page.setInputFiles("#file", {
    name: "clip.mp4",
    mimeType: "video/mp4",
    buffer: readFileSync(video),
  });
  await page.waitForSelector("#video-result:not([hidden])", { timeout: 60_000 });
  const tracks = await page.getAttribute("#video-result", "data-tracks");
  const emotion = await page.locator(".track .emotion").first().textContent();
  const still = await page.locator(".track img").first().getAttribute("src");
  const summary = await page.textContent("#video-summary");
  await page.screenshot({ path: join(out, "video.png"), fullPage: true });
  await page.close();
  assert.equal(tracks, "1", "one face followed");
  assert.match(emotion, /happy/, "the astronaut smiles");
  assert.ok(still.startsWith("data:image/jpeg;base64,"), "the best moment is shown");
  return { tracks: Number(tracks), emotion: emotion.trim(), summary };
}

const { server, url } = startServer();
let browser;
try {
  const base = await url;
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
      `--use-file-for-fake-video-capture=${camera}`,
    ],
  });
  const upload = await uploadPage(browser, base);
  console.log(`upload page: ${upload.summary}; ${upload.emotion}, smile ${upload.smile}`);
  const videoResult = await videoUpload(browser, base);
  console.log(`upload page, video: ${videoResult.summary}; ${videoResult.emotion}`);
  const live = await livePage(browser, base);
  console.log(`live page: ${live.frames} frames, ${live.label}`);
  assert.deepEqual(pageErrors, [], "no script errors on the pages");
  writeFileSync(join(out, "e2e.json"), JSON.stringify({ upload, video: videoResult, live }, null, 2));
  console.log(`screenshots: ${["upload.png", "video.png", "live.png"].map((f) => join(out, f)).join(", ")}`);
} catch (error) {
  console.error(`browser test failed: ${error.stack || error}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  server.kill();
}
