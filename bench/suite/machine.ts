/**
 * The machine a run happened on. Load average is recorded at the start and the end of the run because
 * on a shared box it explains more of the variance than anything else.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';
import { loadNativeModule, nativeModuleProblem } from '../../src/runtime/native-module.js';

export interface LoadAverage { at: string; one: number; five: number; fifteen: number }

export interface MachineInfo {
  cores: number;
  cpu_model: string;
  cpu_mhz: number;
  memory_gib: number;
  node: string;
  v8: string;
  os: string;
  /** From cgroup cpu.max when the process is limited below the visible cores; else null. */
  cpu_quota_cores: number | null;
  load_average_start: LoadAverage;
  load_average_end: LoadAverage | null;
  /** "native" when the native NDJSON decoder (native-bindings/) loaded, else why the JS decoder alone runs. */
  ndjson_decoder: string;
}

export function loadAverage(): LoadAverage {
  const [one, five, fifteen] = loadavg().map((x) => Number(x.toFixed(2)));
  return { at: new Date().toISOString(), one, five, fifteen };
}

function cgroupQuotaCores(): number | null {
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (quota === 'max') return null;
    return Number((Number(quota) / Number(period)).toFixed(2));
  } catch {
    return null;
  }
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cores: availableParallelism(),
    cpu_model: c[0]?.model.trim() ?? 'unknown',
    cpu_mhz: c[0]?.speed ?? 0,
    memory_gib: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    v8: process.versions.v8,
    os: `${type()} ${release()}`,
    cpu_quota_cores: cgroupQuotaCores(),
    load_average_start: loadAverage(),
    load_average_end: null,
    ndjson_decoder: loadNativeModule() !== null ? 'native block decoder + JS for the lines it declines' : `JS only (${nativeModuleProblem() ?? 'native decoder not loaded'})`,
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cores} cores (${m.cpu_model}), ${m.memory_gib} GiB, Node ${m.node}, ${m.os}`;
}
