//! Prometheus metrics: requests, evaluations by plugin and outcome,
//! containment events by kind, latencies. Labels carry route templates,
//! plugin ids, statuses and codes — never anything from a case.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::Host;
use crate::error::Error;

/// Labels of a request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route template (`/v1/plugins/{id}`), or `unmatched`.
    pub route: String,
    /// The method.
    pub method: String,
    /// The status code.
    pub status: u16,
}

/// Labels of a latency.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route template.
    pub route: String,
}

/// Labels of a plugin call.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// The plugin.
    pub plugin: String,
    /// `ok`, or the error's kind (`contained`, `invalid-output`, ...).
    pub outcome: String,
}

/// Labels of an eligibility decision.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    /// The plugin.
    pub plugin: String,
    /// `eligible`, `not-eligible` or `undetermined`.
    pub status: String,
}

/// Labels of a containment event.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ContainmentLabels {
    /// The plugin.
    pub plugin: String,
    /// What stopped it (`out-of-fuel`, `deadline`, `memory-limit`, ...).
    pub kind: String,
}

/// Labels of a plugin.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginLabels {
    /// The plugin.
    pub plugin: String,
}

/// Labels of a reload.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `ok` or `failed`.
    pub result: String,
}

/// Every metric the service keeps.
pub struct Metrics {
    registry: Mutex<Registry>,
    /// Requests by route, method and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Request latencies by route.
    pub latency: Family<RouteLabels, Histogram>,
    /// Plugin calls by plugin and outcome.
    pub calls: Family<CallLabels, Counter>,
    /// Eligibility decisions by plugin and status.
    pub decisions: Family<DecisionLabels, Counter>,
    /// Containment events by plugin and kind.
    pub containments: Family<ContainmentLabels, Counter>,
    /// Reloads by result.
    pub reloads: Family<ResultLabels, Counter>,
    /// Whether each plugin's circuit breaker is open (1) or closed (0), as
    /// of the last scrape.
    pub breaker_open: Family<PluginLabels, Gauge>,
    /// How often each plugin's breaker opened since it was loaded.
    pub breaker_trips: Family<PluginLabels, Gauge>,
    /// Whether each plugin is held: the state in force for it is refused.
    pub plugin_held: Family<PluginLabels, Gauge>,
    /// Evaluations running now.
    pub in_flight: Gauge,
    /// The administration state revision being served.
    pub revision: Gauge,
    /// Primero webhooks by what became of them.
    pub primero_webhooks: Family<ResultLabels, Counter>,
    /// Outbox deliveries to Primero by result (`delivered` per request,
    /// `retry`, `refused`, `failed`).
    pub outbox_deliveries: Family<ResultLabels, Counter>,
    /// Deliveries waiting in the outbox.
    pub outbox_pending: Gauge,
    /// Deliveries that failed for good (`kinga outbox replay`).
    pub outbox_failed: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("kinga");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
        });
        let calls = Family::<CallLabels, Counter>::default();
        let decisions = Family::<DecisionLabels, Counter>::default();
        let containments = Family::<ContainmentLabels, Counter>::default();
        let reloads = Family::<ResultLabels, Counter>::default();
        let breaker_open = Family::<PluginLabels, Gauge>::default();
        let breaker_trips = Family::<PluginLabels, Gauge>::default();
        let plugin_held = Family::<PluginLabels, Gauge>::default();
        let in_flight = Gauge::default();
        let revision = Gauge::default();
        let primero_webhooks = Family::<ResultLabels, Counter>::default();
        let outbox_deliveries = Family::<ResultLabels, Counter>::default();
        let outbox_pending = Gauge::default();
        let outbox_failed = Gauge::default();
        registry.register(
            "primero_webhooks",
            "Primero webhooks by result (queued, answered, own-update, refused, unauthenticated, failed)",
            primero_webhooks.clone(),
        );
        registry.register(
            "outbox_deliveries",
            "Outbox deliveries to Primero by result (delivered, retry, refused, failed)",
            outbox_deliveries.clone(),
        );
        registry.register(
            "outbox_pending",
            "Deliveries to Primero waiting in the outbox",
            outbox_pending.clone(),
        );
        registry.register(
            "outbox_failed",
            "Deliveries to Primero that failed for good: kinga outbox replay puts them back",
            outbox_failed.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route",
            latency.clone(),
        );
        registry.register(
            "plugin_calls",
            "Plugin calls by plugin and outcome",
            calls.clone(),
        );
        registry.register(
            "decisions",
            "Eligibility decisions by plugin and status",
            decisions.clone(),
        );
        registry.register(
            "containments",
            "Plugins stopped by the sandbox, by plugin and kind",
            containments.clone(),
        );
        registry.register("reloads", "Host reloads by result", reloads.clone());
        registry.register(
            "breaker_open",
            "Whether a plugin's circuit breaker is open (1) or closed (0)",
            breaker_open.clone(),
        );
        registry.register(
            "breaker_trips",
            "How often a plugin's circuit breaker opened since the plugin was loaded",
            breaker_trips.clone(),
        );
        registry.register(
            "plugin_held",
            "Whether a plugin is held (1): the administration state in force for it is refused, and it answers nothing until its settings are changed or reset",
            plugin_held.clone(),
        );
        registry.register(
            "evaluations_in_flight",
            "Evaluations running now",
            in_flight.clone(),
        );
        registry.register(
            "state_revision",
            "The administration state revision being served",
            revision.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            requests,
            latency,
            calls,
            decisions,
            containments,
            reloads,
            breaker_open,
            breaker_trips,
            plugin_held,
            in_flight,
            revision,
            primero_webhooks,
            outbox_deliveries,
            outbox_pending,
            outbox_failed,
        }
    }

    /// Counts one evaluation of a case, as every endpoint that evaluates
    /// does: each decision by plugin and status, each plugin call that
    /// answered, and each that failed.
    pub fn evaluated(
        &self,
        decisions: &[crate::runtime::output::Decision],
        answered: &[String],
        failures: &[Error],
    ) {
        for decision in decisions {
            let status = serde_json::to_value(decision.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            self.decisions
                .get_or_create(&DecisionLabels {
                    plugin: decision.plugin.clone(),
                    status,
                })
                .inc();
        }
        self.calls_ok(answered.iter().map(String::as_str));
        for failure in failures {
            self.call_failed(failure);
        }
    }

    /// Counts a successful call of each plugin in `plugins`.
    pub fn calls_ok<'a>(&self, plugins: impl IntoIterator<Item = &'a str>) {
        for plugin in plugins {
            self.calls
                .get_or_create(&CallLabels {
                    plugin: plugin.to_owned(),
                    outcome: "ok".into(),
                })
                .inc();
        }
    }

    /// Counts a failed evaluation: the plugin's call, and a containment
    /// when the sandbox stopped it.
    pub fn call_failed(&self, error: &Error) {
        let Some(plugin) = error.plugin() else { return };
        self.calls
            .get_or_create(&CallLabels {
                plugin: plugin.to_owned(),
                outcome: error.kind().to_owned(),
            })
            .inc();
        if let Error::Contained { kind, .. } = error {
            self.containments
                .get_or_create(&ContainmentLabels {
                    plugin: plugin.to_owned(),
                    kind: serde_json::to_value(kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                })
                .inc();
        }
    }

    /// Reads every plugin's breaker, and whether it is held, in `host` into
    /// the gauges (plugins no longer loaded drop out).
    pub fn observe_breakers(&self, host: &Host) {
        self.breaker_open.clear();
        self.breaker_trips.clear();
        self.plugin_held.clear();
        for plugin in host.plugins() {
            let labels = PluginLabels {
                plugin: plugin.description().id.clone(),
            };
            let status = plugin.breaker();
            self.breaker_open
                .get_or_create(&labels)
                .set(i64::from(status.is_open()));
            self.breaker_trips
                .get_or_create(&labels)
                .set(i64::try_from(status.trips).unwrap_or(i64::MAX));
            self.plugin_held
                .get_or_create(&labels)
                .set(i64::from(plugin.held().is_some()));
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        if prometheus_client::encoding::text::encode(&mut text, &registry).is_err() {
            text.clear();
        }
        text
    }
}
