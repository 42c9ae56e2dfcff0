// The demo page: decode the images, hand grey pixels to xcorr (pkg/, built by build.sh), and
// draw what comes back. `document.body.dataset.state` and `window.xcorrResult` let a test
// (test_page.py) read the outcome.
import init, { Matcher } from "./pkg/xcorr_web_demo.js";

const $ = (id) => document.getElementById(id);
const images = { scene: null, template: null };
let matcher = null;

// Rec. 709 luma, as the xcorr CLI reads colour images (the `image` crate's weights).
function grey(image) {
  const canvas = new OffscreenCanvas(image.width, image.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0);
  const rgba = ctx.getImageData(0, 0, image.width, image.height).data;
  const out = new Float32Array(image.width * image.height);
  for (let i = 0; i < out.length; i++) {
    out[i] = (0.2126 * rgba[4 * i] + 0.7152 * rgba[4 * i + 1] + 0.0722 * rgba[4 * i + 2]) / 255;
  }
  return out;
}

async function load(source) {
  const blob = source instanceof Blob ? source : await (await fetch(source)).blob();
  return await createImageBitmap(blob);
}

// A short perceptual ramp (viridis at nine stops), interpolated.
const VIRIDIS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];
function viridis(t) {
  const x = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2), f = x - i;
  return VIRIDIS[i].map((c, k) => Math.round(c + f * (VIRIDIS[i + 1][k] - c)));
}

function drawMap(result, best) {
  const { width, height, scores } = result;
  let lo = Infinity, hi = -Infinity;
  for (const v of scores) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const canvas = $("map-view");
  canvas.width = width; canvas.height = height;
  const ctx = canvas.getContext("2d");
  const pixels = ctx.createImageData(width, height);
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < scores.length; i++) {
    const t = (scores[i] - lo) / span;
    const [r, g, b] = viridis(best === "min" ? 1 - t : t);
    pixels.data.set([r, g, b, 255], 4 * i);
  }
  ctx.putImageData(pixels, 0, 0);
  ctx.strokeStyle = "#ff2d2d"; ctx.lineWidth = Math.max(2, width / 200);
  for (const p of result.peaks) {
    ctx.beginPath(); ctx.arc(p.col + 0.5, p.row + 0.5, Math.max(4, width / 60), 0, 2 * Math.PI); ctx.stroke();
  }
  $("map-caption").textContent =
    `Score map ${width}×${height}, ${lo.toPrecision(3)} to ${hi.toPrecision(3)} (brighter is better)`;
}

function drawScene(result) {
  const { scene, template } = images;
  const canvas = $("scene-view");
  canvas.width = scene.width; canvas.height = scene.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(scene, 0, 0);
  ctx.lineWidth = Math.max(2, scene.width / 200);
  ctx.font = `${Math.max(12, scene.width / 32)}px system-ui, sans-serif`;
  result.peaks.forEach((p, rank) => {
    ctx.strokeStyle = rank === 0 ? "#ff2d2d" : "#ffb000";
    ctx.strokeRect(p.col, p.row, template.width, template.height);
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillText(`${rank + 1}: ${p.score.toFixed(3)}`, p.col, Math.max(p.row - 4, 12));
  });
}

function drawTemplate() {
  const canvas = $("template-view");
  canvas.width = images.template.width; canvas.height = images.template.height;
  canvas.getContext("2d").drawImage(images.template, 0, 0);
}

async function run() {
  const { scene, template } = images;
  if (!scene || !template) return;
  document.body.dataset.state = "running";
  $("result").textContent = "Matching…"; $("result").className = "";
  drawTemplate();
  const method = $("method").value;
  try {
    const result = await matcher.run(grey(scene), scene.width, scene.height,
      grey(template), template.width, template.height, method, Number($("count").value));
    drawScene(result);
    drawMap(result, method.startsWith("sqdiff") ? "min" : "max");
    const best = result.peaks[0];
    $("result").textContent =
      `best match at row ${best.row}, column ${best.col} (score ${best.score.toFixed(4)}); ` +
      `${result.millis.toFixed(0)} ms on the ${matcher.backend.toUpperCase()}`;
    window.xcorrResult = { backend: matcher.backend, millis: result.millis, peaks: result.peaks };
    document.body.dataset.state = "done";
  } catch (e) {
    $("result").textContent = String(e.message ?? e); $("result").className = "error";
    window.xcorrResult = { error: String(e.message ?? e) };
    document.body.dataset.state = "error";
  }
}

async function adapterName() {
  if (!navigator.gpu) return null;
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const fallback = info.isFallbackAdapter ?? adapter.isFallbackAdapter;
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(" ") +
    (fallback ? " (a software adapter)" : "");
}

async function main() {
  await init();
  matcher = await Matcher.create();
  const name = matcher.backend === "gpu" ? await adapterName() : null;
  $("status").textContent = matcher.backend === "gpu"
    ? `Running on WebGPU: ${name || "adapter without a name"}`
    : "Running on the CPU (WebAssembly)";
  $("note").textContent = matcher.note ?? "";

  $("scene-file").onchange = async (e) => { images.scene = await load(e.target.files[0]); run(); };
  $("template-file").onchange = async (e) => { images.template = await load(e.target.files[0]); run(); };
  $("run").onclick = run;
  const drop = $("drop");
  let next = "scene";
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = async (e) => {
    e.preventDefault(); drop.classList.remove("over");
    for (const file of e.dataTransfer.files) {
      images[next] = await load(file);
      next = next === "scene" ? "template" : "scene";
    }
    run();
  };

  [images.scene, images.template] =
    await Promise.all([load("data/astronaut.png"), load("data/astronaut-patch.png")]);
  await run();
}

main().catch((e) => {
  $("status").textContent = `Failed to start: ${e.message ?? e}`;
  $("status").className = "error";
  window.xcorrResult = { error: String(e.message ?? e) };
  document.body.dataset.state = "error";
});
