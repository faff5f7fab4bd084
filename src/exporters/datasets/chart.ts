// Pure rules of the Datasets Report's charts, shared by the webview (bundled into it: no Node imports here).

const MINUTE_S = 60;
const HOUR_S = 60 * MINUTE_S;
const DAY_S = 24 * HOUR_S;

/**
 * The time axis of a chart, in seconds since the epoch: from the first parcel to the last, padded by 5 % of the
 * span (at least a minute; an hour either side of a single parcel), so parcels made today never show on an axis
 * running days or years ahead. Without data, the last day up to `now`.
 */
export function timeAxisRange(min: number | null, max: number | null, now = Date.now() / 1000): [number, number] {
  if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [now - DAY_S, now];
  const pad = min === max ? HOUR_S : Math.max((max - min) * 0.05, MINUTE_S);
  return [min - pad, max + pad];
}
