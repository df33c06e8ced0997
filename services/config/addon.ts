// The native engine's addon file (the `addon` setting). Commands such as inspect, tokenize and logits read no
// configuration, yet load the engine, so the CLI applies the setting's environment binding when it starts;
// commands that load the configuration apply the resolved value, a config file's included.
import { SETTINGS } from './bindings.ts';

const ADDON_ENV = SETTINGS.find((s) => s.path === 'addon')!.env!;

/** The addon file the environment names, if any. */
export function addonFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[ADDON_ENV];
  return value !== undefined && value.trim() !== '' ? value : undefined;
}
