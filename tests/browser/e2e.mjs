// Drives JupyterLab in headless Chromium: opens the fixture notebook on the
// Asyncbook kernel, runs all cells from the Run menu, checks what is rendered
// (the timeline picture, `:where`'s tree and what JupyterLab's sanitizer
// keeps of it) and what is saved, and takes screenshots. Started by run.sh, which serves
// JupyterLab and passes its address in the environment.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (start this through run.sh)`);
  return value;
};
const base = env("JUPYTER_URL");
const token = env("JUPYTER_TOKEN");
const notebook = env("NOTEBOOK");
const outDir = env("OUT_DIR");
// A fresh kernel compiles its first cell, and the machine may be busy.
const runTimeout = Number(process.env.RUN_TIMEOUT_MS ?? 300_000);

const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const KERNEL = "Rust (async)";
const EXPECTED_TEXT = "the task answered 42";
const STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
const SVG_OUTPUT = '.jp-OutputArea-output[data-mime-type="image/svg+xml"]';
const WHERE = '.jp-OutputArea-output[data-mime-type="text/html"] .asyncbook-where';

const results = [];
async function check(name, body) {
  await body();
  results.push(name);
  console.log(`ok - ${name}`);
}

mkdirSync(outDir, { recursive: true });
// Playwright passes this directory to Chromium as --user-data-dir.
const profile = mkdtempSync(join(tmpdir(), "asyncbook-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env("CHROMIUM"),
  headless: true,
  args: CHROMIUM_FLAGS,
  viewport: { width: 1280, height: 1000 },
});
// Only the local server is reachable: anything else the page asks for fails.
const local = new URL(base).host;
await context.route("**/*", (route) => {
  const url = new URL(route.request().url());
  if (url.host === local || url.protocol === "data:" || url.protocol === "blob:") {
    return route.continue();
  }
  console.log(`blocked request to ${url.origin}`);
  return route.abort();
});
const page = context.pages()[0] ?? (await context.newPage());
page.on("pageerror", (error) => console.log(`page error: ${error.message}`));

const panel = page.locator(".jp-NotebookPanel");
let failed = false;
try {
  await check("JupyterLab opens the notebook", async () => {
    await page.goto(`${base}/lab/tree/${notebook}?token=${token}`);
    await page.locator(".jp-LabShell").waitFor({ timeout: 120_000 });
    await panel.locator(".jp-Cell").first().waitFor({ timeout: 120_000 });
  });

  await check(`the notebook runs on the "${KERNEL}" kernel`, async () => {
    await chooseKernel();
    await panel
      .locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
      .waitFor({ timeout: runTimeout });
  });

  await check("Run > Run All Cells renders the expected output", async () => {
    await page.locator(".lm-MenuBar-itemLabel", { hasText: /^Run$/ }).click();
    await page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click();
    await panel
      .locator(".jp-OutputArea-output", { hasText: EXPECTED_TEXT })
      .waitFor({ timeout: runTimeout });
    await panel.locator(SVG_OUTPUT).waitFor({ timeout: runTimeout });
    await panel
      .locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
      .waitFor({ timeout: runTimeout });
    const pending = await panel.locator(".jp-InputPrompt", { hasText: "[*]" }).count();
    if (pending > 0) throw new Error(`${pending} cells still running`);
  });

  await check("no cell shows an error or stderr output", async () => {
    const errors = await panel.locator(STDERR).allInnerTexts();
    if (errors.length > 0) throw new Error(`stderr/error outputs:\n${errors.join("\n---\n")}`);
  });

  await check("the timeline picture is an SVG with one lane per task", async () => {
    const svg = await panel.locator(SVG_OUTPUT).evaluate(renderedSvg);
    if (svg.root !== "svg") throw new Error(`the picture's root element is <${svg.root}>, not <svg>`);
    if (!svg.loaded) throw new Error("the browser did not draw the SVG picture");
    const lanes = ["John", "Mary", "Pat"];
    if (svg.lanes.join() !== lanes.join()) {
      throw new Error(`lanes are [${svg.lanes}], expected [${lanes}]`);
    }
    if (svg.unit !== "time (min)") throw new Error(`the axis reads "${svg.unit}", not "time (min)"`);
  });

  await check(":where shows a collapsible tree per task, the notebook's frames marked", async () => {
    const where = panel.locator(WHERE);
    await where.waitFor({ timeout: runTimeout });
    // The task spawned in cell [5], parked in the async fn of cell [4].
    const task = where.locator("details", { hasText: "spawned at [5] line 2" });
    if ((await task.count()) !== 1) {
      throw new Error(`no single tree for the task of [5] line 2 in:\n${await where.innerText()}`);
    }
    const summary = task.locator("summary");
    const frame = task.locator("span", { hasText: "[4] line 2, in async fn wait_for_order" });
    const leaf = task.locator("code", { hasText: "tokio::sync::oneshot::Receiver" });
    for (const shown of [summary, frame, leaf]) await shown.waitFor({ state: "visible" });
    if (!(await summary.innerText()).endsWith(": waiting")) {
      throw new Error(`the summary reads "${await summary.innerText()}"`);
    }
    const look = await frame.evaluate((span) => {
      const style = getComputedStyle(span);
      return { background: style.backgroundColor, weight: Number(style.fontWeight) };
    });
    if (look.background === "rgba(0, 0, 0, 0)" || look.weight < 600) {
      throw new Error(`the notebook's frame is not marked: ${JSON.stringify(look)}`);
    }
    const leafLook = await leaf.evaluate((code) => getComputedStyle(code).backgroundColor);
    if (leafLook === look.background) throw new Error("the library's leaf is marked as the notebook's");
    // Collapsed by a click on its summary, expanded by another.
    await summary.click();
    await frame.waitFor({ state: "hidden" });
    if (await task.evaluate((details) => details.open)) throw new Error("the tree did not collapse");
    await summary.click();
    await frame.waitFor({ state: "visible" });
    await leaf.waitFor({ state: "visible" });
  });

  await check(":where's tree and marks survive JupyterLab's sanitizer (an untrusted notebook)", async () => {
    const kept = await panel.locator(WHERE).evaluate((where) => {
      const sanitizer = window.jupyterapp.shell.currentWidget.content.rendermime.sanitizer;
      const clean = new DOMParser().parseFromString(sanitizer.sanitize(where.outerHTML), "text/html");
      const frame = [...clean.querySelectorAll("details span")].find((span) =>
        span.textContent.includes("in async fn wait_for_order"),
      );
      return {
        // A control: the sanitizer is at work (it drops what is not allowed).
        active: !sanitizer.sanitize('<b onclick="x()">b</b>').includes("onclick"),
        trees: clean.querySelectorAll("details[open] > summary").length,
        background: frame?.style.background ?? "",
        weight: frame?.style.fontWeight ?? "",
      };
    });
    if (!kept.active || kept.trees < 1 || !kept.background || kept.weight !== "600") {
      throw new Error(`after sanitizing: ${JSON.stringify(kept)}`);
    }
  });

  await check("the saved notebook holds the outputs the kernel sent", async () => {
    await panel.locator(".jp-Notebook").click({ position: { x: 5, y: 5 } });
    await page.keyboard.press("ControlOrMeta+s");
    const saved = await savedNotebook();
    const code = saved.cells.filter((cell) => cell.cell_type === "code");
    for (const [index, cell] of code.entries()) {
      if (cell.execution_count == null) throw new Error(`code cell ${index + 1} was not run`);
      if (cell.outputs.some((output) => output.output_type === "error")) {
        throw new Error(`code cell ${index + 1} has an error output`);
      }
    }
    const outputs = code.flatMap((cell) => cell.outputs);
    if (!outputs.some((output) => output.data?.["image/svg+xml"])) {
      throw new Error("no image/svg+xml output was saved");
    }
  });

  await check("screenshots saved", async () => {
    await page.screenshot({ path: join(outDir, "notebook.png") });
    await panel.locator(SVG_OUTPUT).screenshot({ path: join(outDir, "timeline.png") });
    await panel.locator(WHERE).screenshot({ path: join(outDir, "where.png") });
  });
} catch (error) {
  failed = true;
  console.log(`not ok - ${error.message}`);
  await page.screenshot({ path: join(outDir, "failure.png") }).catch(() => {});
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`browser: ${results.length} passed, ${failed ? 1 : 0} failed`);
process.exit(failed ? 1 : 0);

// The fixture names the kernelspec, so JupyterLab starts it by itself; if it
// asks instead, pick the kernel in the dialog as a user would.
async function chooseKernel() {
  const name = panel.locator(".jp-Toolbar-kernelName", { hasText: KERNEL });
  const dialog = page.locator(".jp-Dialog", { hasText: "Select Kernel" });
  await name.or(dialog).first().waitFor({ timeout: 120_000 });
  if (await dialog.isVisible()) {
    await dialog.locator("select").selectOption({ label: KERNEL });
    await dialog.getByRole("button", { name: "Select" }).click();
    await name.waitFor({ timeout: 60_000 });
  }
}

// JupyterLab shows SVG output as an <img> with a data: URL (or inline): the
// picture's own elements are read by parsing that source.
function renderedSvg(output) {
  const inline = output.querySelector("svg");
  const img = output.querySelector("img");
  const source = inline
    ? inline.outerHTML
    : decodeURIComponent((img?.src ?? "").replace(/^data:image\/svg\+xml[^,]*,/, ""));
  const doc = new DOMParser().parseFromString(source, "image/svg+xml");
  return {
    root: doc.documentElement.localName,
    lanes: [...doc.querySelectorAll("g.lane")].map((lane) => lane.dataset.name),
    unit: doc.querySelector("text.unit")?.textContent,
    loaded: Boolean(inline) || (img.complete && img.naturalWidth > 0),
  };
}

// Polls the contents API until the save has written the outputs.
async function savedNotebook() {
  const url = `${base}/api/contents/${notebook}?content=1&type=notebook`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const response = await page.request.get(url, {
      headers: { Authorization: `token ${token}` },
    });
    if (!response.ok()) throw new Error(`contents API answered ${response.status()}`);
    const saved = (await response.json()).content;
    const code = saved.cells.filter((cell) => cell.cell_type === "code");
    if (code.every((cell) => cell.execution_count != null)) return saved;
    if (Date.now() > deadline) return saved;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
