import { createMetricsRegistry, prom } from '@cxr/platform';

/** The service's Prometheus metrics, on one registry served at /metrics. */
export interface IngestMetrics {
  registry: prom.Registry;
  /** Instances received, by protocol (dimse, stow-rs) and outcome (stored, duplicate, conflict, rejected, unavailable). */
  received: prom.Counter<'protocol' | 'outcome'>;
  /** Study completion runs, by outcome (queued, not-eligible, unchanged, empty). */
  studiesCompleted: prom.Counter<'outcome'>;
  /** Open DIMSE associations (set every second). */
  associations: prom.Gauge<never>;
  /** Data refused by the receive layer before storing, by protocol and reason (memory, too-large, data-set, busy, slow). */
  receiveRefused: prom.Counter<'protocol' | 'reason'>;
  /** DIMSE connections without an association (set every second). */
  pendingConnections: prom.Gauge<never>;
  /** Bytes reserved in the receive memory budget, and its size (set every second). */
  receiveReserved: prom.Gauge<never>;
  receiveBudget: prom.Gauge<never>;
}

export function createIngestMetrics(): IngestMetrics {
  const registry = createMetricsRegistry('ingest');
  const received = new prom.Counter({ name: 'cxr_ingest_instances_total', help: 'Instances received, by protocol and outcome', labelNames: ['protocol', 'outcome'] as const, registers: [registry] });
  const studiesCompleted = new prom.Counter({ name: 'cxr_ingest_studies_completed_total', help: 'Study completion runs, by outcome', labelNames: ['outcome'] as const, registers: [registry] });
  const associations = new prom.Gauge({ name: 'cxr_ingest_dimse_associations', help: 'Open DIMSE associations', registers: [registry] });
  const pendingConnections = new prom.Gauge({ name: 'cxr_ingest_dimse_pending_connections', help: 'DIMSE connections without an association', registers: [registry] });
  const receiveReserved = new prom.Gauge({ name: 'cxr_ingest_receive_reserved_bytes', help: 'Bytes of instances being received, reserved in the receive memory budget', registers: [registry] });
  const receiveBudget = new prom.Gauge({ name: 'cxr_ingest_receive_budget_bytes', help: 'Size of the receive memory budget', registers: [registry] });
  const receiveRefused = new prom.Counter({ name: 'cxr_ingest_receive_refused_total', help: 'Data refused by the receive layer before storing, by protocol and reason', labelNames: ['protocol', 'reason'] as const, registers: [registry] });
  return { registry, received, studiesCompleted, associations, pendingConnections, receiveReserved, receiveBudget, receiveRefused };
}
