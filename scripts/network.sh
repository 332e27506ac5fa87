#!/usr/bin/env bash
# The Seocho Coin Fabric network. On one machine, as native processes on 127.0.0.1:
#
#   scripts/network.sh up [--no-demo]   every organisation's steps: CAs, Raft orderers and peers; the channel
#                                       created and joined; profiles; then the demo's cast (unless --no-demo)
#   scripts/network.sh deploy           package, install, approve and commit the coin chaincode; serve it
#   scripts/network.sh upgrade          commit the chaincode again (sequence + 1); the state stays
#   scripts/network.sh down [--purge]   stop every node; --purge also deletes ledgers and identities
#   scripts/network.sh status [--json]  nodes up/down, block heights, Raft leader, committed chaincode
#   scripts/network.sh logs NODE        the last lines of a node's log
#   scripts/network.sh revoke NAME --org MSP   revoke an identity at its CA and publish the CRL on the channel
#   scripts/network.sh upgrade-fabric --to 3.1.5 [--bft]   rolling Fabric upgrade, one node at a time
#                                       (orderers, peers, the V3_0 capability; --bft: then Raft to SmartBFT;
#                                       --stop-before normal: stop it while `rollback-bft` can undo it;
#                                       `docker upgrade-fabric`: one container at a time, no --bft)
#   scripts/network.sh rollback-bft     back to Raft from a migration not yet out of maintenance mode
#
# One organisation's own steps (each organisation runs its own, with its own --home on its own host):
#   scripts/network.sh org init|up|down ORG       its home, CA and identities; its nodes (never a demo cast)
#   scripts/network.sh channel create | join ORG  the genesis block; ORG's orderers and peers join
#   scripts/network.sh monitoring up|status|down   Prometheus (Debian's package) scraping every node,
#                                       with network/monitoring/alerts.yml and the certificate exporter
#   scripts/network.sh peer snapshot [--peer P] [--block N]   a ledger snapshot; prints its directory
#   scripts/network.sh --join FRAGMENT channel join-running ORG --from-snapshot DIR   peers join from one
#
# In Docker Compose: `--runtime docker COMMAND` (or `docker COMMAND`, its alias), plus `renew-tls NODE`,
# `service up|down` (the HTTP service in the district's project, network/docker/README.md §11) and
# `render`; files in $SEOCHO_HOME/docker; images from FABRIC_PEER_IMAGE, FABRIC_ORDERER_IMAGE (nodes on
# 3.1.5: FABRIC_PEER_IMAGE_3_1_5, FABRIC_ORDERER_IMAGE_3_1_5), FABRIC_CA_IMAGE, SEOCHO_CHAINCODE_IMAGE,
# SEOCHO_SERVICE_IMAGE (see network/docker/README.md).
#
# Files live in $SEOCHO_HOME/network (default ~/.seocho/network); SEOCHO_NETWORK_PORT_OFFSET shifts every
# port of network/topology.yaml. Needs scripts/bootstrap.sh and scripts/build-fabric.sh first (run here).
set -euo pipefail
cd "$(dirname "$0")/.."
case " $* " in
    " " | " -h " | " --help ")
        sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
        exit 0
        ;;
    # The host-side tools (configtxgen, osnadmin, the peer CLI) are the pinned Fabric release's.
    *" up "* | *" deploy "*) scripts/bootstrap.sh >/dev/null && scripts/build-fabric.sh ;;
esac
exec .venv/bin/python -m seocho_network "$@"
