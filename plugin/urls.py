urlpatterns: list = [
    # /install/, /exact/callback, /settings/..., /settings/log/
]
