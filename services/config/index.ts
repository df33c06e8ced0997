// Configuration: flags > environment > config file > defaults, validated by schemas/app-config.ts.
export { ENV_BINDINGS, FLAG_BINDINGS, type ConfigFlagName } from './bindings.ts';
export { ConfigError, formatIssue, type ConfigIssue } from './errors.ts';
export { addConfigFlags } from './flags.ts';
export { defaultHome, isModelName, loadConfig, type ConfigFlags, type LoadConfigOptions, type LoadedConfig } from './load.ts';
