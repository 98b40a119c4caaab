//! Rules declared once.
//!
//! A rule is one [`Rule`] value: its id, title and description (what an
//! administrator sees and switches), whether it is on by default, the case
//! fields it reads, the reasons it can give with their messages (and, for
//! a referral rule, the services it can name; for a ranking rule, the range
//! of its priorities), and the function that decides it. From a plugin's list
//! of rules the SDK derives the rest:
//!
//! - what `describe` reports: the rules in their order, and the case fields
//!   as the union of every rule's fields and the plugin's own
//!   ([`PluginInfo::with_rules`], [`case_fields`]);
//! - the dispatch: each rule switched on in the context runs, in declaration
//!   order ([`run_enabled`], [`enabled`]).
//!
//! So a rule cannot be described but never run, or run without being
//! described, and the fields it reads are declared next to the code that
//! reads them.
//!
//! # Two shapes of rule function
//! The type of a rule's function is a parameter of [`Rule`]:
//!
//! - [`EligibilityRule`] and [`ReferralRule`] take the context and the case.
//!   A plugin lists them in [`EligibilityPlugin::RULES`] or
//!   [`ReferralPlugin::RULES`], and the traits' default `evaluate` and
//!   `route` run them: the plugin declares its rules and nothing else.
//! - A plugin that first makes a *whole-case pass* (facts every rule shares,
//!   checks that refuse the case before any rule runs) declares its rules
//!   over its own input, for example `Rule<fn(&Facts, &Settings) -> ...>`,
//!   adds them to its description with [`PluginInfo::with_rules`] and runs
//!   them with [`enabled`] in its own `evaluate` or `route`.
//!
//! # Growing
//! [`Rule`] is `#[non_exhaustive]` and built with `const` builder methods,
//! so what a rule declares can grow without breaking a plugin written
//! today.
//!
//! [`EligibilityPlugin::RULES`]: crate::EligibilityPlugin::RULES
//! [`ReferralPlugin::RULES`]: crate::ReferralPlugin::RULES

use crate::describe::{ReasonInfo, ReasonText};
use crate::{Case, Context, Decision, PluginError, PluginInfo, Referral, RuleInfo};

/// One rule, declared once: what describes it, what it reads, what runs it.
///
/// Built with [`Rule::new`] and the builder methods, usually in a `const`:
///
/// ```
/// # use kinga_plugin_sdk::*;
/// # type Settings = serde_json::Map<String, serde_json::Value>;
/// # fn school_support(_: &Context<Settings>, _: &Case) -> Result<Decision, PluginError> {
/// #     Err(PluginError::internal("example"))
/// # }
/// const SCHOOL_SUPPORT: EligibilityRule<Settings> = EligibilityRule::new(
///     "school-support",
///     "School support",
///     "Identified survivors aged 9-15.",
///     school_support,
/// )
/// .reads(&["/child/date_of_birth", "/child/age_estimate_years", "/survivor_status"])
/// .gives(&[&[
///     ("age-in-range", "the child is aged {/min_age}-{/max_age}"),
///     ("age-out-of-range", "the child is not aged {/min_age}-{/max_age}"),
/// ]]);
/// # assert!(SCHOOL_SUPPORT.enabled_by_default);
/// ```
///
/// (Name the type, as `EligibilityRule::new` does, so that the function
/// becomes a function pointer and rules of one plugin share one type.)
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Rule<F> {
    /// Stable kebab-case id: what administrators switch, what reasons and
    /// outputs name (for an eligibility rule, also its track).
    pub id: &'static str,
    /// Short title.
    pub title: &'static str,
    /// What makes it fire, in plain language.
    pub description: &'static str,
    /// Whether it is on unless an administrator switches it off.
    pub enabled_by_default: bool,
    /// JSON pointers of the case fields it reads (a pointer to an object
    /// or an array covers everything in it).
    pub case_fields: &'static [&'static str],
    /// The reasons it can give, in groups (so that reasons several rules
    /// share are written once): code and message.
    pub reasons: &'static [&'static [ReasonText]],
    /// For a referral rule, the services it can refer to.
    pub services: &'static [&'static str],
    /// For a ranking eligibility rule, its lowest and highest priority.
    pub priorities: Option<(i32, i32)>,
    /// The function that decides it.
    pub run: F,
}

impl<F> Rule<F> {
    /// A rule that is on by default and reads no case field yet.
    pub const fn new(
        id: &'static str,
        title: &'static str,
        description: &'static str,
        run: F,
    ) -> Self {
        Rule {
            id,
            title,
            description,
            enabled_by_default: true,
            case_fields: &[],
            reasons: &[],
            services: &[],
            priorities: None,
            run,
        }
    }

    /// The same rule, giving the reasons of `groups` (code and message; a
    /// message may quote settings as `{/pointer}`). Replaces what an
    /// earlier call declared.
    pub const fn gives(mut self, groups: &'static [&'static [ReasonText]]) -> Self {
        self.reasons = groups;
        self
    }

    /// The same referral rule, referring to `services` only.
    pub const fn refers_to(mut self, services: &'static [&'static str]) -> Self {
        self.services = services;
        self
    }

    /// The same eligibility rule, ranking eligible cases with priorities
    /// from `lowest` to `highest`.
    pub const fn ranks(mut self, lowest: i32, highest: i32) -> Self {
        self.priorities = Some((lowest, highest));
        self
    }

    /// The same rule, reading the case fields at `case_fields` (JSON
    /// pointers; replaces what an earlier call declared).
    pub const fn reads(mut self, case_fields: &'static [&'static str]) -> Self {
        self.case_fields = case_fields;
        self
    }

    /// The same rule, off unless an administrator switches it on.
    pub const fn off_by_default(mut self) -> Self {
        self.enabled_by_default = false;
        self
    }

    /// The rule as `describe` reports it.
    pub fn info(&self) -> RuleInfo {
        let mut reasons: Vec<ReasonInfo> = Vec::new();
        for (code, message) in self.reasons.iter().flat_map(|group| group.iter()) {
            if !reasons.iter().any(|r| r.code == *code) {
                reasons.push(ReasonInfo {
                    code: (*code).to_owned(),
                    message: (*message).to_owned(),
                });
            }
        }
        RuleInfo {
            id: self.id.to_owned(),
            title: self.title.to_owned(),
            description: self.description.to_owned(),
            enabled_by_default: self.enabled_by_default,
            reasons,
            services: self.services.iter().map(|s| (*s).to_owned()).collect(),
            priorities: self.priorities,
        }
    }
}

/// The function of a rule that reads the context and the case, and returns
/// its output `O` or refuses the case.
pub type RuleFn<S, O> = fn(&Context<S>, &Case) -> Result<O, PluginError>;

/// An eligibility rule: it decides the track named by its id, so it returns
/// exactly one [`Decision`].
pub type EligibilityRule<S> = Rule<RuleFn<S, Decision>>;

/// A referral rule: it returns the referrals it makes for the case, none or
/// several.
pub type ReferralRule<S> = Rule<RuleFn<S, Vec<Referral>>>;

/// The rules of `rules` switched on in `ctx`, in declaration order.
///
/// The dispatch of a plugin whose rules take their own input:
///
/// ```
/// # use kinga_plugin_sdk::*;
/// # use kinga_plugin_sdk::rule::enabled;
/// # struct Facts;
/// # type Settings = ();
/// # fn evaluate(rules: &[Rule<fn(&Facts, &Settings) -> Decision>], ctx: &Context<Settings>) -> Vec<Decision> {
/// let facts = Facts; // the whole-case pass
/// enabled(rules, ctx).map(|rule| (rule.run)(&facts, &ctx.settings)).collect()
/// # }
/// ```
pub fn enabled<'r, F, S>(
    rules: &'r [Rule<F>],
    ctx: &'r Context<S>,
) -> impl Iterator<Item = &'r Rule<F>> {
    rules.iter().filter(move |rule| ctx.enabled(rule.id))
}

/// Runs each rule of `rules` switched on in `ctx`, in declaration order, and
/// collects their outputs (one per rule that ran).
///
/// # Errors
/// The first error a rule returns; the rules after it do not run.
pub fn run_enabled<S, O>(
    rules: &[Rule<RuleFn<S, O>>],
    ctx: &Context<S>,
    case: &Case,
) -> Result<Vec<O>, PluginError> {
    enabled(rules, ctx)
        .map(|rule| (rule.run)(ctx, case))
        .collect()
}

/// The rules as `describe` reports them, in declaration order.
pub fn infos<F>(rules: &[Rule<F>]) -> Vec<RuleInfo> {
    rules.iter().map(Rule::info).collect()
}

/// The case fields `describe` reports for `rules` and the plugin's own
/// `extra` fields (those a whole-case pass reads): their union, sorted and
/// each once.
pub fn case_fields<F>(rules: &[Rule<F>], extra: &[&str]) -> Vec<String> {
    let mut fields = Vec::new();
    add_fields(
        &mut fields,
        extra
            .iter()
            .copied()
            .chain(rules.iter().flat_map(|r| r.case_fields.iter().copied())),
    );
    fields
}

/// Adds `new` to `fields`, keeping them sorted and each once; adding
/// nothing leaves `fields` as they are.
pub(crate) fn add_fields<'a>(fields: &mut Vec<String>, new: impl IntoIterator<Item = &'a str>) {
    let before = fields.len();
    fields.extend(new.into_iter().map(str::to_owned));
    if fields.len() != before {
        fields.sort();
        fields.dedup();
    }
}

impl PluginInfo {
    /// The description of the plugin with these `rules` added after the
    /// ones it has, and their case fields merged into its own (sorted, each
    /// once). Adding no rules changes nothing.
    pub fn with_rules<F>(mut self, rules: &[Rule<F>]) -> PluginInfo {
        self.rules.extend(rules.iter().map(Rule::info));
        add_fields(
            &mut self.case_fields,
            rules.iter().flat_map(|r| r.case_fields.iter().copied()),
        );
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::{Check, decide};
    use crate::{CaseStatus, Status};

    type Settings = ();

    fn open(_: &Context<Settings>, case: &Case) -> Result<Decision, PluginError> {
        Ok(decide(
            "open",
            [Check::either(
                "open",
                case.status == Some(CaseStatus::Open),
                "case-open",
                "case-closed",
            )],
        ))
    }

    fn refuses(_: &Context<Settings>, _: &Case) -> Result<Decision, PluginError> {
        Err(PluginError::invalid_case("no", None))
    }

    const OPEN: &[ReasonText] = &[("case-open", "open"), ("case-closed", "closed")];

    const RULES: [EligibilityRule<Settings>; 3] = [
        EligibilityRule::new("open", "Open", "Open cases.", open)
            .reads(&["/status"])
            .gives(&[OPEN]),
        EligibilityRule::new("refuses", "Refuses", "Refuses every case.", refuses)
            .reads(&["/child", "/status"])
            .off_by_default(),
        EligibilityRule::new("again", "Open again", "Open cases.", open)
            .gives(&[OPEN, &[("case-open", "shadowed"), ("extra", "more")]])
            .ranks(0, 10),
    ];

    fn ctx(rules: &[&str]) -> Context<Settings> {
        Context::new(
            crate::date::parse_datetime("2026-07-01T09:00:00+03:00").unwrap(),
            rules,
            (),
        )
    }

    fn case() -> Case {
        Case::from_json(r#"{"case_id": "C-1", "status": "open"}"#).unwrap()
    }

    #[test]
    fn enabled_rules_run_in_declaration_order_whatever_the_order_they_are_switched_on() {
        let out = run_enabled(&RULES, &ctx(&["again", "open"]), &case()).unwrap();
        let tracks: Vec<&str> = out.iter().map(|d| d.track.as_str()).collect();
        assert_eq!(tracks, ["open", "open"]);
        assert!(out.iter().all(|d| d.status == Status::Eligible));
        let ids: Vec<&str> = enabled(&RULES, &ctx(&["again", "open"]))
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["open", "again"]);
    }

    #[test]
    fn an_error_stops_the_run() {
        let err = run_enabled(&RULES, &ctx(&["open", "refuses", "again"]), &case()).unwrap_err();
        assert_eq!(err.code, "no");
    }

    #[test]
    fn describe_lists_the_rules_in_order_and_the_union_of_their_fields_sorted() {
        let info = PluginInfo::new("p", "P", "0.1.0", "Tests.")
            .reads(&["/survivor_status", "/status"])
            .with_rules(&RULES);
        let ids: Vec<(&str, bool)> = info
            .rules
            .iter()
            .map(|r| (r.id.as_str(), r.enabled_by_default))
            .collect();
        assert_eq!(ids, [("open", true), ("refuses", false), ("again", true)]);
        assert_eq!(info.rules[1].title, "Refuses");
        assert_eq!(info.rules[1].description, "Refuses every case.");
        assert_eq!(info.case_fields, ["/child", "/status", "/survivor_status"]);
        assert_eq!(case_fields(&RULES, &["/survivor_status"]), info.case_fields);
        assert_eq!(infos(&RULES), info.rules);
        assert!(format!("{:?}", RULES[0]).contains("\"open\""));
        assert!(info.declares_reason("open", "case-closed"));
        assert!(!info.declares_reason("refuses", "case-closed"));
        let again = &info.rules[2];
        let codes: Vec<(&str, &str)> = again
            .reasons
            .iter()
            .map(|r| (r.code.as_str(), r.message.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                ("case-open", "open"),
                ("case-closed", "closed"),
                ("extra", "more")
            ]
        );
        assert_eq!(again.priorities, Some((0, 10)));
    }

    #[test]
    fn adding_no_rules_changes_nothing() {
        let mut info = PluginInfo::new("p", "P", "0.1.0", "Tests.");
        info.case_fields = vec!["/status".into(), "/child".into()];
        let same = info.clone().with_rules::<RuleFn<Settings, Decision>>(&[]);
        assert_eq!(same, info);
    }
}
