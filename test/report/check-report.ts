/**
 * `npm run report:check`: opens the acceptance HTML report in a real headless Chromium (Debian's, driven by
 * playwright-core), checks that every scenario of the run is there and that every SVG evidence image renders,
 * and saves a screenshot to reports/report-screenshot.png. Exits non-zero naming what is missing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const reports = join(import.meta.dirname, '..', '..', 'reports');
const html = join(reports, 'cucumber-report.html');
const messages = join(reports, 'cucumber-messages.ndjson');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

for (const [file, fix] of [
  [html, 'run `npm run acceptance` first'],
  [messages, 'run `npm run acceptance` first'],
  [executablePath, 'install Chromium (`apt-get install chromium`) or set CHROMIUM_PATH'],
] as const) {
  if (!existsSync(file)) {
    console.error(`report:check: ${file} does not exist; ${fix}`);
    process.exit(2);
  }
}

// What the report must show: every scenario of the run and how many SVG attachments it carried.
const envelopes = readFileSync(messages, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
// Scenario names as written (an outline shows its template name and its examples table, not each pickle name).
const scenarios: string[] = envelopes
  .filter((e) => e.gherkinDocument?.feature)
  .flatMap((e) =>
    e.gherkinDocument.feature.children.map((c: { scenario?: { name: string } }) => c.scenario?.name),
  )
  .filter(Boolean);
const svgCount = envelopes.filter((e) => e.attachment?.mediaType === 'image/svg+xml').length;

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const problems: string[] = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(pathToFileURL(html).toString());
  await page.waitForLoadState('networkidle');
  // Expand every feature, then open every attachment, so scenarios and evidence are rendered.
  const collapsed = page.locator('[aria-expanded="false"]');
  for (let i = (await collapsed.count()) - 1; i >= 0; i--) {
    await collapsed
      .nth(i)
      .click({ timeout: 2000 })
      .catch(() => undefined);
  }
  await page.$$eval('details', (all) => {
    for (const d of all) d.setAttribute('open', '');
  });
  await page.waitForTimeout(500);
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a reviewer sees
  const body = await page.locator('body').innerText();
  for (const name of scenarios) if (!body.includes(name)) problems.push(`scenario not shown: ${name}`);
  const images = await page.$$eval('img', (imgs) =>
    imgs
      .filter((i) => i.src.startsWith('data:image/svg+xml'))
      .map((i) => ({ ok: i.complete && i.naturalWidth > 0, width: i.naturalWidth })),
  );
  const rendered = images.filter((i) => i.ok).length;
  if (svgCount > 0 && rendered === 0) problems.push(`none of the ${svgCount} SVG attachments rendered`);
  if (rendered < images.length)
    problems.push(`${images.length - rendered} of ${images.length} SVG images did not render`);
  // The screenshot shows the first scenario with a traffic probe, its evidence open.
  const probe = page.locator('img[src^="data:image/svg+xml"]').nth(1);
  if (await probe.count()) await probe.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(reports, 'report-screenshot.png'), fullPage: false });
  console.log(
    `report:check: ${scenarios.length} scenarios shown, ${rendered}/${images.length} SVG evidence images rendered ` +
      `(${svgCount} attached); screenshot reports/report-screenshot.png`,
  );
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(`report:check failed:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
