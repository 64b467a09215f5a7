"""Every place in the product's code that chooses which tenant the work acts for, with its reason.

Tenancy is set once per request from the signed-in membership (`portal.security`) or once per job
from the ids the job was given. Anything else that sets a tenant (`tenant_scope`, `set_tenant`),
lifts the ORM safety net (`unscoped`), writes the database's tenant settings directly
(`scoping.apply_settings`) or touches the tenant ContextVars is a switch of scope, and must be
listed here, keyed by "module:function", with how many such calls the function makes, why it
is needed and the test that exercises it. `tests/tenants/test_scope_switches.py` walks the source
of portal/, tenants/, printing/, reports/ and infra/ with `ast` and fails on any call missing
from this table, on an entry whose calls are gone, and on an entry naming a test that does not
exist.

No entry writes one school's rows while acting for another: a request acts for its own
membership's organisation, a job for the one organisation it was given, and the multi-tenant
loops (`printing.retention.due_orders`, the job reconcilers' `tenants.tenancy.reconcile`, the outbox
relays) work one tenant at a time. A pupil's transfer
between schools needs no switch at all (`tenants.transfers.operations`): each school acts on the request row
as itself.
"""

from __future__ import annotations

import dataclasses

# The calls that choose a tenant (by the name they are called by) and the ContextVars they set.
SWITCH_CALLS = ("tenant_scope", "set_tenant", "unscoped", "apply_settings")
CONTEXT_VARS = ("_current", "_unscoped")


@dataclasses.dataclass(frozen=True)
class Switch:
    calls: int  # how many switching calls the function makes
    reason: str
    test: str  # "tests/<path>.py::<test function>" that runs the code


SWITCHES: dict[str, Switch] = {
    # --- the mechanism itself ------------------------------------------------------------------
    "tenants.tenancy.context:set_tenant": Switch(
        1, "The one place the tenant ContextVar is set; every other switch goes through it.",
        "tests/tenants/test_scoping.py::test_the_criteria_keep_other_tenants_out_without_rls"),
    "tenants.tenancy.context:tenant_scope": Switch(
        1, "Runs a block for one tenant and restores the previous one (jobs, CLI, tests).",
        "tests/tenants/test_scoping.py::test_the_criteria_keep_other_tenants_out_without_rls"),
    "tenants.tenancy.context:unscoped": Switch(
        2, "The logged escape hatch: the ORM net off, the `system` scope set; RLS still applies and only "
           "the outboxes (batches, e-mails) admit that scope.",
        "tests/printing/test_worker_faults.py::test_redis_flushed_after_submit_the_outbox_brings_the_job_back"),
    "tenants.tenancy.scoping:_after_begin": Switch(
        1, "Each transaction starts with the current tenant's settings for the RLS policies.",
        "tests/tenants/test_rls.py::test_tenant_settings_do_not_outlive_the_transaction"),
    "tenants.tenancy.scoping:install._push": Switch(
        1, "A tenant set inside an open transaction (after the sign-in lookup) reaches the database at once.",
        "tests/portal/test_isolation.py::test_a_school_id_sent_by_the_client_is_ignored"),
    # --- requests: the signed-in organisation, or the credential's --------------------------------
    "portal.security:_bind_tenant": Switch(
        1, "A request acts for the signed-in user's current membership, from the server-side session only.",
        "tests/portal/test_isolation.py::test_a_school_id_sent_by_the_client_is_ignored"),
    "portal.api.views:_bind": Switch(
        1, "An API request acts for the printer its bearer token was issued to.",
        "tests/portal/test_api.py::test_another_printers_token_gets_404_on_every_order_endpoint"),
    "portal.api.views:download": Switch(
        1, "A signed download link names its printer; the order is looked up again as that printer.",
        "tests/portal/test_api.py::test_local_download_links_are_signed_and_short_lived"),
    "tenants.photos.operations:acting_for_link": Switch(
        2, "A parent's link: first a tenant holding only the token's hash (the database shows that one row), "
           "then the school the link belongs to.",
        "tests/portal/test_parent_photos.py::test_the_database_shows_a_link_request_only_its_own_row"),
    # --- jobs: the organisation named by the job's ids (docs/security.md T1.10) --------------------------
    "tenants.roster.tasks:apply_roster_import": Switch(
        1, "rq job: imports the list as the school that uploaded it.",
        "tests/portal/test_roster_import.py::test_a_vulcan_list_is_dry_run_then_imported_by_a_job"),
    "tenants.roster.tasks:import_photo_zip": Switch(
        1, "rq job: matches the ZIP's photos as the school that uploaded it.",
        "tests/portal/test_photo_zip_import.py::test_a_zip_is_matched_checked_queued_and_reported"),
    "tenants.mail.outbox:send_mail": Switch(
        1, "rq job: claims and sends one promised e-mail, composing it as the message's school.",
        "tests/test_mail_outbox.py::test_a_normal_run_sends_each_message_once_however_often_relayed_and_delivered"),
    "tenants.mail.outbox:relay_mail": Switch(
        1, "The mail relay reads every school's unsent messages (`unscoped`: the mail outbox admits the system "
           "scope) and sends only ids to the queue.",
        "tests/test_mail_outbox.py::test_redis_flushed_after_submit_and_after_delivery_every_mail_goes_once"),
    "tenants.mail.outbox:failed_messages": Switch(
        1, "`flask legitka mail-failed` lists given-up e-mails of every school (ids, kind, reason) for the operator.",
        "tests/test_mail_outbox.py::test_smtp_down_is_retried_with_growing_waits_then_failed_with_a_reason"),
    "tenants.roster.tasks:_holding.renew": Switch(
        1, "An import job's side thread renews its lease on the import, as the same school, on its own connection.",
        "tests/tenants/test_roster_import_faults.py::test_a_roster_import_whose_worker_is_killed_is_finished_by_another"),
    "tenants.tenancy.reconcile:each_organisation": Switch(
        1, "The workers' reconcilers (imports school by school, council reports city by city) send again jobs "
           "that were lost or whose worker died, each organisation as itself.",
        "tests/portal/test_photo_zip_import.py::test_an_import_whose_worker_died_is_sent_again_and_finished_once"),
    "printing.tasks:build_batch": Switch(
        1, "rq job: renders an order's batch as the order's school.",
        "tests/test_flow.py::test_one_card_end_to_end"),
    "printing.tasks:_holding.renew": Switch(
        1, "The batch job's side thread renews its lease on the order, as the same school, on its own connection.",
        "tests/printing/test_worker_faults.py::test_sigkill_mid_batch_then_restart_gives_one_complete_package"),
    "printing.tasks:relay_outbox": Switch(
        1, "The outbox relay reads every school's pending events (`unscoped`: the outbox alone admits the system "
           "scope) and sends only ids to the queue.",
        "tests/printing/test_worker_faults.py::test_redis_flushed_after_submit_the_outbox_brings_the_job_back"),
    "printing.tasks:_orders_of": Switch(
        1, "The relay reads each event's order status as the order's school, one school at a time.",
        "tests/printing/test_worker.py::test_the_relay_leaves_a_waiting_job_alone"),
    "printing.tasks:_give_up": Switch(
        1, "The relay fails an order whose batch keeps dying, as the order's school.",
        "tests/printing/test_worker.py::test_an_order_whose_batch_keeps_dying_fails_readably_instead_of_looping"),
    "printing.retention:due_orders": Switch(
        1, "Retention finds delivered orders past their time city by city, as each city (metadata only).",
        "tests/printing/test_retention.py::test_purge_after_seven_days_removes_every_version_and_leaves_a_receipt"),
    "printing.retention:purge_order": Switch(
        1, "Retention deletes one order's files and writes the receipt as the order's school.",
        "tests/printing/test_retention.py::test_purge_after_seven_days_removes_every_version_and_leaves_a_receipt"),
    "printing.retention:drop_plain_print_files": Switch(
        2, "The purge sweep finds orders still keeping a plain print file city by city, as each city (keys "
           "only), and forgets each key as the order's school.",
        "tests/printing/test_at_rest.py::test_the_purge_sweep_removes_the_plain_pdf_older_batches_stored"),
    "reports.statistics:refresh_school": Switch(
        1, "The statistics refresh counts one school's records as that school (its RLS applies).",
        "tests/reports/test_statistics.py::test_every_school_count_equals_the_sql_truth"),
    "reports.council_report:_holding.renew": Switch(
        1, "The council report job's side thread renews its lease on the report, as the same city.",
        "tests/reports/test_council_report_faults.py::test_a_council_report_whose_worker_is_killed_is_finished_by_another"),
    "reports.council_report:build": Switch(
        1, "rq job: renders the council's report as the city that asked for it.",
        "tests/reports/test_council_report.py::test_the_city_official_asks_for_the_council_report_and_downloads_it"),
    "tenants.tenancy.officer:reading_school": Switch(
        1, "The data protection officer reads a school it serves (its own, or every school of its city) as "
           "that school, one school at a time, only appending its own access-log rows (docs/dpo.md).",
        "tests/portal/test_dpo.py::test_who_saw_the_child_equals_the_sql_truth"),
    "tenants.tenancy.second_factor:_log": Switch(
        1, "A platform admin (no tenant) resets a user's second factor or switches the account off: the "
           "access-log row goes into the chain of each organisation the user belongs to, written as that "
           "tenant (its RLS admits only its own rows); the row only, nothing of the tenant is read.",
        "tests/portal/test_second_factor.py::"
        "test_the_platform_admin_resets_and_switches_off_any_account_in_its_organisations_chain"),
    # --- the command line ------------------------------------------------------------------------
    "tenants.tenancy.audit_chain:verify_chain": Switch(
        1, "`flask legitka verify-log` reads each access-log chain as the tenant it belongs to (a school, or a "
           "printer's or city's own rows), whom row-level security lets read exactly those rows; read only.",
        "tests/tenants/test_access_log_chain.py::test_the_command_reports_the_first_broken_row"),
    "portal.demo:_printer_confirms_deletion": Switch(
        1, "`flask legitka seed-demo` writes a history order's deletion confirmation as its printer (only the "
           "order's printer may insert it, docs/domain.md §23).",
        "tests/portal/test_embedded.py::test_demo_seed_is_complete_and_idempotent"),
    "portal.demo:_printer_downloads": Switch(
        1, "`flask legitka seed-demo` logs a history order's package download as its printer, in the printer's "
           "chain, as the printer's portal does (docs/dpo.md: the officer's answers read it).",
        "tests/portal/test_embedded.py::test_demo_seed_is_complete_and_idempotent"),
    "portal.demo:_confirm_past_deletions": Switch(
        1, "`flask legitka seed-demo` reads each school's past years' delivered orders as that school, to "
           "write their printers' deletion confirmations.",
        "tests/portal/test_embedded.py::test_demo_seed_is_complete_and_idempotent"),
    "portal.demo:seed": Switch(
        5, "`flask legitka seed-demo` creates each demo school's records as that school, the print centre's "
           "blank stock as the print centre, and reads the city's order count and writes its finances as the city.",
        "tests/portal/test_embedded.py::test_demo_seed_is_complete_and_idempotent"),
    "portal.demo:_consultation": Switch(
        2, "`flask legitka seed-demo` opens the demo city's consultation with the directors as the city, then "
           "gives a few schools' answers, each as that school.",
        "tests/portal/test_embedded.py::test_demo_seed_is_complete_and_idempotent"),
    "portal.demo_history:past_transfers": Switch(
        2, "The demo's past transfers: the sending school sends as itself, then the receiving school "
           "accepts and orders the pupil's card as itself.",
        "tests/portal/test_embedded.py::test_demo_seed_is_complete_and_idempotent"),
    "portal.demo_history:past_history": Switch(
        1, "The demo writes each school's past years' history on its own statistics row, as that school.",
        "tests/portal/test_embedded.py::test_demo_seed_is_complete_and_idempotent"),
}
