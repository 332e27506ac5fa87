#!/usr/bin/env bash
# The Seocho Coin Fabric network on this machine, as native processes on 127.0.0.1:
#
#   scripts/network.sh up               start CAs, 3 Raft orderers and both peers; create and join the channel
#   scripts/network.sh deploy           package, install, approve and commit the coin chaincode; serve it
#   scripts/network.sh upgrade          commit the chaincode again (sequence + 1); the state stays
#   scripts/network.sh down [--purge]   stop every node; --purge also deletes ledgers and identities
#   scripts/network.sh status [--json]  nodes up/down, block heights, Raft leader, committed chaincode
#   scripts/network.sh logs NODE        the last lines of a node's log
#   scripts/network.sh revoke NAME --org MSP   revoke an identity at its CA and publish the CRL on the channel
#   scripts/network.sh monitoring up|status|down   Prometheus (Debian's package) scraping every node, with
#                                       network/monitoring/alerts.yml, and the certificate-expiry exporter
#   scripts/network.sh docker up|deploy|upgrade|status|logs SERVICE|renew-tls NODE|render|down [--purge]
#                                       the same network in Docker Compose ($SEOCHO_HOME/docker; images
#                                       from FABRIC_PEER_IMAGE, FABRIC_ORDERER_IMAGE, FABRIC_CA_IMAGE,
#                                       SEOCHO_CHAINCODE_IMAGE; see the README's "Docker deployment")
#
# Files live in $SEOCHO_HOME/network (default ~/.seocho/network); SEOCHO_NETWORK_PORT_OFFSET shifts every
# port of network/topology.yaml. Needs scripts/bootstrap.sh and scripts/build-fabric.sh first (run here).
set -euo pipefail
cd "$(dirname "$0")/.."
case ${1:-} in
    "" | -h | --help)
        sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
        exit 0
        ;;
    up | deploy) scripts/bootstrap.sh >/dev/null && scripts/build-fabric.sh ;;
    # The host-side tools (configtxgen, osnadmin, the peer CLI) come from the same Fabric release.
    docker) [[ ${2:-} != up && ${2:-} != deploy ]] || { scripts/bootstrap.sh >/dev/null && scripts/build-fabric.sh; } ;;
esac
exec .venv/bin/python -m seocho_network "$@"
