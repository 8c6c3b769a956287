from rest_framework.routers import SimpleRouter

from events.api.views import WebhookEndpointViewSet

router = SimpleRouter()
router.register("", WebhookEndpointViewSet, basename="webhook-endpoint")
urlpatterns = router.urls
