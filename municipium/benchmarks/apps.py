from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    name = "municipium.benchmarks"
    label = "benchmarks"
