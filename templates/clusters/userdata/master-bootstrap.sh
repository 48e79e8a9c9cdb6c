{% autoescape off %}#!/bin/sh
# Brings up the control plane of cluster {{ raw.cluster_id }}. The first master (in
# {{ raw.first_zone }}, while the API does not answer yet) runs kubeadm init and installs Calico
# and the ingress controller; the others wait for the API and join the control plane.
set -eu
export KUBECONFIG=/etc/kubernetes/admin.conf
API="https://{{ raw.api_endpoint }}/healthz"

api_up() { curl -ksf --max-time 5 "$API" >/dev/null; }
imds_token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")
zone=$(curl -sf -H "X-aws-ec2-metadata-token: $imds_token" http://169.254.169.254/latest/meta-data/placement/availability-zone)

if [ {{ raw.master_count }} -gt 1 ] && { [ "$zone" != "{{ raw.first_zone }}" ] || api_up; }; then
  for _ in $(seq 120); do api_up && break; sleep 10; done
  kubeadm join --config /etc/happa/kubeadm-join.yaml
  exit 0
fi

kubeadm init --config /etc/happa/kubeadm-init.yaml --upload-certs
# Pod network: Calico, its default pool {{ raw.pod_subnet }}.
kubectl apply -f {{ raw.calico_manifest }}
# Ingress: ingress-nginx on fixed node ports, behind the ingress load balancer's 80 and 443.
kubectl apply -f {{ raw.ingress_manifest }}
kubectl -n ingress-nginx patch service ingress-nginx-controller -p \
  '{"spec":{"ports":[{"port":80,"nodePort":{{ raw.ingress_http_node_port }}},{"port":443,"nodePort":{{ raw.ingress_https_node_port }}}]}}'
{% endautoescape %}
