// Configuration: flags > environment > config file > defaults, validated by schemas/app-config.ts. Every
// setting is one entry of SETTINGS (bindings.ts).
export { addonFromEnvironment } from './addon.ts';
export {
  COMMANDS,
  ENV_BINDINGS,
  FLAG_BINDINGS,
  SETTINGS,
  settingsOf,
  settingsTable,
  type CommandName,
  type ConfigFlagName,
  type Setting,
} from './bindings.ts';
export { ConfigError, formatIssue, type ConfigIssue } from './errors.ts';
export { addCommandSettings, addConfigFlags } from './flags.ts';
export {
  defaultHome,
  isModelName,
  loadConfig,
  type ConfigFlags,
  type LoadConfigOptions,
  type LoadedConfig,
} from './load.ts';
export { kafkaFrom, pipelineSettings, redisFrom, serviceConfig, type ServiceAddress } from './services.ts';
