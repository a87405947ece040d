urlpatterns: list = [
    # The webhook receiver: POST /webhooks/eduframe/<installation id>/<secret>
]
