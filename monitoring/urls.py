from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:alert_id>/acknowledge", views.acknowledge, name="acknowledge"),
    path("alerts/<int:alert_id>/silence", views.silence, name="silence"),
    path("silences/<int:silence_id>/expire", views.expire_silence, name="expire_silence"),
    path("clusters/<str:cluster_id>/history", views.cluster_history, name="cluster_history"),
    path("clusters/<str:cluster_id>/alertmanager", views.alertmanager_webhook,
         name="alertmanager"),
    path("clusters/<str:cluster_id>/alertmanager/token", views.rotate_receiver_token,
         name="rotate_receiver_token"),
    path("notifications/", views.notification_channels, name="notifications"),
    path("notifications/<int:channel_id>/test", views.send_test_notification,
         name="send_test_notification"),
    path("notifications/<int:channel_id>/edit", views.edit_notification_channel,
         name="edit_notification_channel"),
    path("notifications/<int:channel_id>/delete", views.delete_notification_channel,
         name="delete_notification_channel"),
]
