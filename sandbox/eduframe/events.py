"""The webhook event names Eduframe accepts [C S4]."""

from __future__ import annotations

CRUD = ("created", "updated", "deleted")
CRUD_ENTITIES = (
    "account",
    "catalog_variant",
    "category",
    "course",
    "course_location",
    "course_variant",
    "custom_field_option",
    "custom_record",
    "educator",
    "enrollment",
    "invoice",
    "invoice_vat",
    "label",
    "lead",
    "meeting",
    "meeting_location",
    "order",
    "payment",
    "planned_course",
    "planning_event",
    "product",
    "program",
    "program_edition",
    "teacher",
    "teacher_role",
    "user",
)
EXTRA_EVENTS = (
    "certificate.awarded",
    "certificate.deleted",
    "meeting.teacher_attendees_changed",
    "order.approved",
    "order.canceled",
    "order.denied",
    "planned_course.canceled",
    "planned_course.teacher_attendees_changed",
    "program_enrollment.created",
    "program_enrollment.updated",
    "program_enrollment.cancel",
    "program_enrollment.pass",
    "program_enrollment.graduation_revoked",
    "user.merged",
)
EVENTS = frozenset(f"{entity}.{action}" for entity in CRUD_ENTITIES for action in CRUD) | frozenset(EXTRA_EVENTS)
