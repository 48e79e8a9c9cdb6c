{% autoescape off %}#!/bin/sh
# Prepares a Kubernetes {{ raw.kubernetes_version }} node of cluster {{ raw.cluster_id }}: kernel
# settings, containerd with the systemd cgroup driver, kubelet, kubeadm and kubectl.
set -eu
export DEBIAN_FRONTEND=noninteractive

printf 'overlay\nbr_netfilter\n' >/etc/modules-load.d/kubernetes.conf
modprobe overlay
modprobe br_netfilter
cat >/etc/sysctl.d/90-kubernetes.conf <<SYSCTL
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
SYSCTL
sysctl --system
swapoff -a

apt-get update
apt-get install -y apt-transport-https ca-certificates curl gpg containerd
mkdir -p /etc/containerd
containerd config default | sed 's/SystemdCgroup = false/SystemdCgroup = true/' >/etc/containerd/config.toml
systemctl restart containerd

mkdir -p /etc/apt/keyrings
curl -fsSL https://pkgs.k8s.io/core:/stable:/v{{ raw.kubernetes_minor }}/deb/Release.key \
  | gpg --dearmor -o /etc/apt/keyrings/kubernetes.gpg
echo "deb [signed-by=/etc/apt/keyrings/kubernetes.gpg] https://pkgs.k8s.io/core:/stable:/v{{ raw.kubernetes_minor }}/deb/ /" \
  >/etc/apt/sources.list.d/kubernetes.list
apt-get update
apt-get install -y kubelet={{ raw.kubernetes_version }}-1.1 kubeadm={{ raw.kubernetes_version }}-1.1 kubectl={{ raw.kubernetes_version }}-1.1
apt-mark hold kubelet kubeadm kubectl
systemctl enable --now kubelet
{% endautoescape %}
