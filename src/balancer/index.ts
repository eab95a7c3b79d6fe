// Load balancing for llmbench pipelines: the built-in proxy (in-process or as a child process) and the nginx driver.
export { startBuiltinBalancer, BuiltinBalancer, STATS_PATH } from './proxy.js';
export { BALANCER_DEFAULTS, resolveBalancerOptions, type BalancerHandle, type BuiltinBalancerOptions } from './options.js';
export { createPolicy, type Policy } from './policies.js';
export { parseUpstreamArg, validateUpstreams, type UpstreamSpec } from './upstreamSpec.js';
export { spawnBuiltinBalancer, type SpawnBalancerOptions } from './spawn.js';
export { runBalance, readyLine, READY_PREFIX } from '../commands/balance.js';
export { startNginx, findNginx, nginxVersion, pickFreePort, type NginxHandle, type NginxOptions } from './nginx.js';
export { renderNginxConfig, resolveNginxConfig, NGINX_DEFAULTS, type NginxConfigInput, type NginxConfigOptions } from './nginxConfig.js';
export { nginxStatsFromLog } from './nginxStats.js';
export { startBalancer, BALANCER_KINDS, type BalancerKind, type PipelineBalancerOptions } from './startBalancer.js';
