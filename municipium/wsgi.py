import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "municipium.settings")
application = get_wsgi_application()

# Each gunicorn worker imports this module before it accepts a connection: the first
# reader after a start or deploy should not wait for Django's lazy loading (web/warmup.py).
from municipium.web.warmup import warm_up  # noqa: E402 - needs the settings configured above

warm_up()
