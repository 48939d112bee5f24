from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "municipium.audit"
    label = "audit"
