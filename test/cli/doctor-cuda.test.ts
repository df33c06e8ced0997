// doctor's GPU line: the devices with their memory and the driver when the CUDA backend loads, "CUDA
// unavailable" with the reason otherwise — checked on this machine's real engine (no GPU here), on the CUDA
// build of the addon (native/build-cuda when one was made, else the default build when nvcc compiled CUDA into
// it), and on the report of a machine with a GPU.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import type { DoctorReport } from '../../schemas/doctor.ts';
import { CapabilitiesSchema } from '../../schemas/engine.ts';
import { checkAddon, describeCuda } from '../../services/doctor/engine-checks.ts';
import { capabilities, DEFAULT_ADDON_PATH } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { cliEntry, repoRoot } from '../helpers/paths.ts';

const run = promisify(execFile);
const home = mkdtempSync(path.join(tmpdir(), 'rwkvstream-doctor-cuda-'));
const separateCudaBuild = path.join(repoRoot, 'native', 'build-cuda', 'rwkv.node');
const cudaAddon = existsSync(separateCudaBuild)
  ? separateCudaBuild
  : capabilities().cudaCompiled
    ? DEFAULT_ADDON_PATH
    : undefined;

test('a machine with a GPU: each device with its name, compute capability and memory, and the CUDA versions', () => {
  const caps = CapabilitiesSchema.parse({
    avx2: true,
    avx512f: true,
    avx512bf16: false,
    cudaCompiled: true,
    cudaDevices: 1,
    cudaError: '',
    cudaDriverVersion: 13000,
    cudaRuntimeVersion: 12080,
    cudaDeviceInfo: [
      {
        name: 'NVIDIA H100 80GB HBM3',
        computeCapability: '9.0',
        totalBytes: 85_031_714_816,
        freeBytes: 84_500_000_000,
      },
    ],
  });
  assert.equal(
    describeCuda(caps),
    'CUDA backend loads: cuda:0 NVIDIA H100 80GB HBM3 (sm_90, 78.7 GiB free of 79.2 GiB); driver CUDA 13.0, build CUDA 12.8',
  );
});

test('no CUDA: "CUDA unavailable" and the engine\'s reason, once', () => {
  const base = { avx2: true, avx512f: false, avx512bf16: false };
  assert.equal(
    describeCuda(
      CapabilitiesSchema.parse({ ...base, cudaCompiled: false, cudaDevices: 0, cudaError: 'built without CUDA' }),
    ),
    'CUDA unavailable: built without CUDA',
  );
  assert.equal(
    describeCuda(
      CapabilitiesSchema.parse({
        ...base,
        cudaCompiled: true,
        cudaDevices: 0,
        cudaError: 'CUDA unavailable (cudaErrorNoDevice: no CUDA-capable device is detected)',
      }),
    ),
    'CUDA unavailable: cudaErrorNoDevice: no CUDA-capable device is detected',
  );
});

test('this machine (no GPU): the native engine check says CUDA unavailable with the reason; --device cuda fails it with the fix', () => {
  const caps = capabilities();
  assert.equal(caps.cudaDevices, 0, 'these tests expect a machine without a usable GPU');
  const cpu = checkAddon({ device: 'cpu' });
  assert.equal(cpu.status === 'ok' || cpu.status === 'warn', true);
  assert.match(cpu.message, /; CUDA unavailable: \S.+$/);
  const cuda = checkAddon({ device: 'cuda' });
  assert.equal(cuda.status, 'fail');
  assert.match(cuda.message, /CUDA unavailable: \S/);
  assert.match(cuda.fix ?? '', /--device cpu/);
});

test('the addon built with the CUDA backend loads without a GPU: doctor reports why CUDA is unavailable, a cuda model load fails with E_NO_DEVICE', {
  skip: cudaAddon
    ? false
    : 'no CUDA build (the engine was built without nvcc; bench/gpu/pack.sh makes native/build-cuda)',
}, async () => {
  assert.ok(cudaAddon);
  // Only what the test sets: no Redis or brokers from the machine's environment.
  const env = { PATH: process.env.PATH, HOME: home, RWKVSTREAM_HOME: home, RWKVSTREAM_ADDON: cudaAddon };
  const { stdout } = await run(
    process.execPath,
    [cliEntry, 'doctor', '--json', '--model', tinyModel, '--vocab', 'bytes'],
    { env },
  ).catch((err: { stdout: string }) => err);
  const report = JSON.parse(stdout) as DoctorReport;
  const engine = report.checks.find((c) => c.name === 'native engine')!;
  assert.match(engine.message, /CUDA unavailable: \S/);
  assert.equal((engine.details as { cudaCompiled?: boolean }).cudaCompiled, true);
  const failed = await run(
    process.execPath,
    [cliEntry, 'logits', tinyModel, '--vocab', 'bytes', '--device', 'cuda', '--text', 'hi'],
    { env },
  ).then(
    () => assert.fail('a cuda load without a GPU must fail'),
    (err: { stderr: string }) => err.stderr,
  );
  assert.match(failed, /E_NO_DEVICE|E_CUDA_DRIVER/);
});
