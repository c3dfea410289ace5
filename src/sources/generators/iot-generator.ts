/**
 * IoT sensor readings: a fleet of devices, each with one sensor, reporting every `intervalMs`
 * of event time (with up to a quarter interval of jitter, so event time is slightly out of
 * order as it is from real radios). Values follow a mean-reverting random walk (an
 * Ornstein-Uhlenbeck step) around a per-device set point; batteries drain a little per reading
 * and are swapped for a full one below 5%.
 *
 *   {"event_id":"iot-42","device_id":"dev-000042","ts":1700000000000,"sensor":"temperature",
 *    "unit":"C","value":21.37,"battery":0.873,"seq":0}
 */
import type { LineGenerator } from './line-generator.js';
import { Prng } from './prng.js';

export interface SensorKind {
  name: string;
  unit: string;
  /** Set points are drawn uniformly from [min, max]; readings are clamped to [floor, ceil]. */
  setPointMin: number;
  setPointMax: number;
  floor: number;
  ceil: number;
  /** Standard deviation of one step of noise. */
  noise: number;
  decimals: number;
}

export const SENSOR_KINDS: readonly SensorKind[] = [
  { name: 'temperature', unit: 'C', setPointMin: 15, setPointMax: 28, floor: -40, ceil: 85, noise: 0.15, decimals: 2 },
  { name: 'humidity', unit: '%', setPointMin: 30, setPointMax: 70, floor: 0, ceil: 100, noise: 0.5, decimals: 1 },
  { name: 'pressure', unit: 'hPa', setPointMin: 990, setPointMax: 1030, floor: 870, ceil: 1085, noise: 0.2, decimals: 1 },
  { name: 'co2', unit: 'ppm', setPointMin: 420, setPointMax: 900, floor: 350, ceil: 5000, noise: 8, decimals: 0 },
];

export interface IotGeneratorOptions {
  seed?: number;
  devices?: number;
  /** Event time of the first round of readings (epoch ms). A constant keeps output reproducible. */
  startTsMs?: number;
  /** Event-time interval between two readings of one device. */
  intervalMs?: number;
}

const MEAN_REVERSION = 0.05;
const BATTERY_DRAIN_PER_READING = 0.0002;

export class IotGenerator implements LineGenerator {
  private readonly prng: Prng;
  private readonly devices: number;
  private readonly startTsMs: number;
  private readonly intervalMs: number;
  private readonly kindOf: Uint8Array;
  private readonly setPoint: Float64Array;
  private readonly value: Float64Array;
  private readonly battery: Float64Array;
  private readonly deviceIds: string[];
  private emitted = 0;

  constructor(options: IotGeneratorOptions = {}) {
    this.prng = new Prng(options.seed ?? 1);
    this.devices = options.devices ?? 1000;
    this.startTsMs = options.startTsMs ?? 1_700_000_000_000;
    this.intervalMs = options.intervalMs ?? 1000;
    const n = this.devices;
    this.kindOf = new Uint8Array(n);
    this.setPoint = new Float64Array(n);
    this.value = new Float64Array(n);
    this.battery = new Float64Array(n);
    this.deviceIds = new Array<string>(n);
    for (let d = 0; d < n; d++) {
      const kind = this.prng.int(SENSOR_KINDS.length);
      const k = SENSOR_KINDS[kind];
      this.kindOf[d] = kind;
      this.setPoint[d] = k.setPointMin + this.prng.float() * (k.setPointMax - k.setPointMin);
      this.value[d] = this.setPoint[d];
      this.battery[d] = 0.5 + this.prng.float() * 0.5;
      this.deviceIds[d] = `dev-${String(d).padStart(6, '0')}`;
    }
  }

  nextLine(): string {
    const i = this.emitted++;
    const d = i % this.devices;
    const round = (i - d) / this.devices;
    const k = SENSOR_KINDS[this.kindOf[d]];
    const p = this.prng;

    let v = this.value[d];
    v += MEAN_REVERSION * (this.setPoint[d] - v) + k.noise * p.normal();
    v = Math.min(k.ceil, Math.max(k.floor, v));
    this.value[d] = v;

    let b = this.battery[d] - BATTERY_DRAIN_PER_READING * (0.5 + p.float());
    if (b < 0.05) b = 1;
    this.battery[d] = b;

    const ts = this.startTsMs + round * this.intervalMs + p.int(Math.max(1, this.intervalMs >>> 2));
    return `{"event_id":"iot-${i}","device_id":"${this.deviceIds[d]}","ts":${ts},"sensor":"${k.name}","unit":"${k.unit}","value":${v.toFixed(k.decimals)},"battery":${b.toFixed(3)},"seq":${round}}`;
  }
}
