/**
 * The live dashboard in a real headless browser (Debian's `chromium`, driven by playwright-core)
 * against a running daemon (the generator source, metrics on a free loopback port; compiled dist/):
 * the page loads with no console error, its figures are those of /metrics (the page's input count
 * between two reads of /metrics, every outcome and sink shown), and they move while events flow. The
 * test saves a screenshot (test-output/dashboard.png).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../../services/host.js';
import { ROOT, startMetricsDaemon, until } from './metrics-daemon.js';

const children: ChildProcess[] = [];
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

const num = (s: string | null): number => Number((s ?? '').replace(/,/g, ''));

describe('dashboard', () => {
  it('loads without console errors in Chromium, shows the figures of /metrics and moves while events flow', async () => {
    const d = await startMetricsDaemon('dashboard-test');
    const daemon = d.child;
    children.push(daemon);
    const base = d.base;
    const metricsInput = async (): Promise<number> =>
      Number(/^ringflow_input_events_total\{[^}]*\} (\d+)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1]);

    browser = await chromium.launch({ executablePath: requireBinary('chromium', 'chromium'), args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const consoleErrors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(`${base}/`);
    await until('the page\'s first figures', 20_000, async () => num(await page.textContent('#input-total')) > 0);

    const before = await metricsInput();
    const shown = num(await page.textContent('#input-total'));
    await page.waitForTimeout(1_200); // at least one more poll
    const shownLater = num(await page.textContent('#input-total'));
    const after = await metricsInput();
    expect(shown).toBeGreaterThan(0);
    expect(shownLater).toBeGreaterThan(shown);
    expect(shownLater).toBeLessThanOrEqual(after);
    expect(before).toBeGreaterThan(0);
    expect(await page.textContent('#daemon')).toBe('dashboard-test');
    expect(await page.textContent('#ready')).toBe('ready');
    for (const outcome of ['accepted', 'invalid', 'duplicate', 'late', 'failed']) {
      expect(await page.locator(`[data-outcome="${outcome}"]`).count()).toBe(1);
    }
    expect(await page.locator('[data-sink-rows="files.windows"]').count()).toBe(1);
    // The last closed window's groups: a header row and at least one group, the largest count first.
    await until('the last closed window', 20_000, async () => (await page.locator('#last-window tr').count()) > 1);
    expect(await page.textContent('#last-window')).toMatch(/type.*region.*count/);
    expect(await page.textContent('#input-rate')).toMatch(/^[\d.]+[KM]?$/);
    expect(await page.textContent('#error')).toBe('');
    mkdirSync(join(ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-output', 'dashboard.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
    daemon.kill('SIGTERM');
  }, 90_000);
});
