// GET routes: /health (503 until the model is loaded, and while draining), /metrics, /memory (the process's
// memory breakdown as JSON), /placement (where onnxruntime put the model's nodes), /v1/models.
import { unavailable } from './apiError.js';
import type { Route } from './httpApp.js';
import { sendError, sendJson } from './httpApp.js';
import { PROMETHEUS_CONTENT_TYPE } from './metricsRegistry.js';
import { modelsBody } from './openaiShapes.js';

/** The informational routes. */
export const infoRoutes: Route[] = [
  {
    method: 'GET',
    path: '/health',
    handler(state, _req, res) {
      if (state.phase !== 'ready' || !state.model) {
        sendError(res, unavailable(state.phase === 'draining' ? 'shutting down' : 'loading model'));
        return;
      }
      sendJson(res, 200, { status: 'ok', model: state.model.id, replica: state.replicaName });
    },
  },
  {
    method: 'GET',
    path: '/metrics',
    handler(state, _req, res) {
      const text = state.metrics.registry.render();
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': String(Buffer.byteLength(text)) });
      res.end(text);
    },
  },
  {
    method: 'GET',
    path: '/memory',
    handler(state, _req, res) {
      const breakdown = state.memory();
      if (!breakdown) {
        sendError(res, unavailable(state.model ? 'memory breakdown needs Linux /proc' : 'loading model'));
        return;
      }
      // The pid tells a caller that several replicas' answers describe one shared process.
      sendJson(res, 200, { replica: state.replicaName, pid: process.pid, breakdown });
    },
  },
  {
    method: 'GET',
    path: '/placement',
    handler(state, _req, res) {
      if (!state.model) {
        sendError(res, unavailable('loading model'));
        return;
      }
      // null when the check did not run (CPU, unless serve --placement-check on).
      sendJson(res, 200, { replica: state.replicaName, pid: process.pid, placement: state.model.placement });
    },
  },
  {
    method: 'GET',
    path: '/v1/models',
    handler(state, _req, res) {
      if (!state.model) {
        sendError(res, unavailable('loading model'));
        return;
      }
      sendJson(res, 200, modelsBody(state.model.id, state.startedAtS));
    },
  },
];
