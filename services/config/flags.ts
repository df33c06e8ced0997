// The configuration flags a command offers. They carry no commander defaults: a default given here would
// always win over the environment and the config file.
import type { Command } from 'commander';

import { FLAG_BINDINGS, type ConfigFlagName } from './bindings.ts';

export function addConfigFlags(cmd: Command, names: readonly ConfigFlagName[]): Command {
  cmd.option('--config <file>', 'JSON config file (default: $RWKVSTREAM_CONFIG)');
  for (const name of names) {
    const binding = FLAG_BINDINGS[name];
    cmd.option(binding.flag, binding.description);
  }
  return cmd;
}
