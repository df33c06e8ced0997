// The configuration flags a command offers. They carry no commander defaults: a default given here would
// always win over the environment and the config file.
import type { Command } from 'commander';

import { FLAG_BINDINGS, settingsOf, flagProperty, type CommandName, type ConfigFlagName } from './bindings.ts';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function addConfigFlags(cmd: Command, names: readonly ConfigFlagName[]): Command {
  cmd.option('--config <file>', 'JSON config file (default: $RWKVSTREAM_CONFIG)');
  for (const name of names) {
    const binding = FLAG_BINDINGS[name];
    if (binding === undefined) throw new Error(`no configuration flag "${name}" (services/config/bindings.ts)`);
    if (binding.repeatable) cmd.option(binding.flag, binding.description, collect);
    else cmd.option(binding.flag, binding.description);
  }
  return cmd;
}

/** Every configuration flag the settings table gives `command`. */
export function addCommandSettings(cmd: Command, command: CommandName): Command {
  return addConfigFlags(
    cmd,
    settingsOf(command).map((s) => flagProperty(s.flag!)),
  );
}
