"""The state behind the emulated functions: tables, shared records and the seeded generator.

Importing this package registers the tables on the store's shared metadata (see ``_tables``).
"""

from mcapi.emulator._data._generator import SIEM_SLOT_SECONDS, GenerateSummary, generate
from mcapi.emulator._data._policies import blocked_sender_policies, blocked_sender_verdicts
from mcapi.emulator._data._queues import generate_queues, processing_messages
from mcapi.emulator._data._records import (
    AUDIT_CATEGORIES,
    TenantProfile,
    audit_info,
    get_profile,
    new_id,
    record_audit,
    set_profile,
)
from mcapi.emulator._data._tables import (
    audit_events,
    click_logs,
    group_members,
    groups,
    held_messages,
    managed_senders,
    managed_urls,
    messages,
    siem_streams,
    tenant_profiles,
)
from mcapi.emulator._data._threat_tables import (
    message_attachments,
    remediation_incidents,
    remediation_messages,
    threat_indicators,
)
from mcapi.emulator._data._ttp_tables import attachment_logs, impersonation_logs

__all__ = [
    "AUDIT_CATEGORIES",
    "SIEM_SLOT_SECONDS",
    "GenerateSummary",
    "TenantProfile",
    "attachment_logs",
    "audit_events",
    "audit_info",
    "blocked_sender_policies",
    "blocked_sender_verdicts",
    "click_logs",
    "generate",
    "generate_queues",
    "get_profile",
    "group_members",
    "groups",
    "held_messages",
    "impersonation_logs",
    "managed_senders",
    "managed_urls",
    "message_attachments",
    "messages",
    "new_id",
    "processing_messages",
    "record_audit",
    "remediation_incidents",
    "remediation_messages",
    "set_profile",
    "siem_streams",
    "tenant_profiles",
    "threat_indicators",
]
