// Load driver on the official Node client (@hyperledger/fabric-gateway) for benchmarks/network.
//
// Reads one JSON request on stdin (see benchmarks/network/drivers.py, which writes it):
//   {address, tlsRootCertPath, serverName, mspId, certPath, keyPath, channel, chaincode,
//    mode: "submit" | "evaluate", workload: {kind: "kv" | "kv_read" | "kv_wide" | "kv_wide_read" | "null", prefix, seedKeys},
//    inflight, warmupSeconds, seconds}
// keeps `inflight` transactions in flight (each worker starts the next one when its last one is
// committed), prints "MEASURING" when the warm-up ends, and after `seconds` more one JSON line:
//   {done, latenciesMs: [...], codes: {VALID: n, MVCC_READ_CONFLICT: n, ...}, errors: {...}, cpuMs, seconds}
// counting the transactions that completed inside the measured window.
//
// The signer is Node's built-in crypto (OpenSSL): `hash.none` hands it the message, which
// crypto.sign hashes with SHA-256 and signs in one native call; the DER signature is then normalised
// to low S, as Fabric requires. The client's stock signer (`signers.newPrivateKeySigner`) is pure
// JavaScript, ~1.4 ms a signature, and would make the baseline weak.

import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import * as grpc from '@grpc/grpc-js';
import { connect, hash } from '@hyperledger/fabric-gateway';

const P256_N = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');
const HALF_N = P256_N >> 1n;

function derInteger(value) {
    let hex = value.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let bytes = Buffer.from(hex, 'hex');
    if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

function lowS(der) {
    // SEQUENCE { INTEGER r, INTEGER s } with short lengths (P-256 signatures are < 128 bytes).
    const rLength = der[3];
    const r = der.subarray(4, 4 + rLength);
    const sLength = der[5 + rLength];
    const s = BigInt(`0x${der.subarray(6 + rLength, 6 + rLength + sLength).toString('hex')}`);
    if (s <= HALF_N) return der;
    const body = Buffer.concat([Buffer.from([0x02, rLength]), r, derInteger(P256_N - s)]);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

function nativeSigner(keyPem) {
    const key = crypto.createPrivateKey(keyPem);
    return async (message) => new Uint8Array(lowS(crypto.sign('sha256', message, { key, dsaEncoding: 'der' })));
}

function b64json(value) {
    return Buffer.from(JSON.stringify(value)).toString('base64');
}

const VALUE = 'v'.repeat(32);

function argumentsFor(workload, worker, sequence) {
    // The same keys and values as benchmarks/network/pyload.py's workload.
    const seed = { key: `${workload.seedPrefix}-${Math.floor(Math.random() * workload.seedKeys)}` };
    switch (workload.kind) {
        case 'kv': {
            const base = `${workload.prefix}-${worker}-${sequence}`;
            return ['readWriteKVs', b64json([seed]), b64json([{ key: `${base}-a`, value: VALUE }, { key: `${base}-b`, value: VALUE }])];
        }
        case 'kv_read':
            return ['readWriteKVs', b64json([seed]), b64json([])];
        case 'kv_wide':
        case 'kv_wide_read': {
            // kvbatch's shape: 8 distinct seed keys read in one call, 8 fresh keys written in one batch.
            const start = Math.floor(Math.random() * workload.seedKeys);
            const reads = Array.from({ length: 8 }, (_, i) => ({ key: `${workload.seedPrefix}-${(start + i) % workload.seedKeys}` }));
            const base = `${workload.prefix}-${worker}-${sequence}`;
            const writes = workload.kind === 'kv_wide' ? Array.from({ length: 8 }, (_, i) => ({ key: `${base}-${i}`, value: VALUE })) : [];
            return ['readWriteKVs', b64json(reads), b64json(writes)];
        }
        case 'null':
            return ['noop'];
        default:
            throw new Error(`unknown workload ${workload.kind}`);
    }
}

const CODE_NAMES = { 0: 'VALID', 2: 'DUPLICATE_TXID', 10: 'ENDORSEMENT_POLICY_FAILURE', 11: 'MVCC_READ_CONFLICT', 12: 'PHANTOM_READ_CONFLICT' };

async function main() {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const client = new grpc.Client(request.address, grpc.credentials.createSsl(readFileSync(request.tlsRootCertPath)), {
        'grpc.ssl_target_name_override': request.serverName,
    });
    const gateway = connect({
        client,
        identity: { mspId: request.mspId, credentials: readFileSync(request.certPath) },
        signer: nativeSigner(readFileSync(request.keyPath)),
        hash: hash.none,
        evaluateOptions: () => ({ deadline: Date.now() + 30000 }),
        endorseOptions: () => ({ deadline: Date.now() + 30000 }),
        submitOptions: () => ({ deadline: Date.now() + 30000 }),
        commitStatusOptions: () => ({ deadline: Date.now() + 60000 }),
    });
    const contract = gateway.getNetwork(request.channel).getContract(request.chaincode);
    const start = performance.now();
    const measureFrom = start + request.warmupSeconds * 1000;
    const measureTo = measureFrom + request.seconds * 1000;
    const latencies = [];
    const codes = {};
    const errors = {};
    let cpuAtStart = null;
    let measuring = false;

    const markStart = () => {
        if (!measuring && performance.now() >= measureFrom) {
            measuring = true;
            cpuAtStart = process.cpuUsage();
            process.stdout.write('MEASURING\n');
        }
    };
    const timer = setTimeout(markStart, Math.max(0, measureFrom - performance.now()));

    async function worker(index) {
        for (let sequence = 0; performance.now() < measureTo; sequence += 1) {
            const [fn, ...args] = argumentsFor(request.workload, index, sequence);
            const began = performance.now();
            let code = null;
            try {
                if (request.mode === 'evaluate') {
                    await contract.evaluateTransaction(fn, ...args);
                    code = 'VALID';
                } else {
                    const transaction = await contract.newProposal(fn, { arguments: args }).endorse();
                    const status = await (await transaction.submit()).getStatus();
                    code = CODE_NAMES[status.code] ?? `CODE_${status.code}`;
                }
            } catch (error) {
                const name = `${error.name ?? 'Error'}:${error.code ?? error.cause?.code ?? ''}`;
                const ended = performance.now();
                if (ended >= measureFrom && ended <= measureTo) errors[name] = (errors[name] ?? 0) + 1;
                continue;
            }
            const ended = performance.now();
            markStart();
            if (ended >= measureFrom && ended <= measureTo) {
                codes[code] = (codes[code] ?? 0) + 1;
                if (code === 'VALID') latencies.push(ended - began);
            }
        }
    }

    try {
        await Promise.all(Array.from({ length: request.inflight }, (_, i) => worker(i)));
    } finally {
        clearTimeout(timer);
        gateway.close();
        client.close();
    }
    const cpu = process.cpuUsage(cpuAtStart ?? undefined);
    process.stdout.write(
        `${JSON.stringify({ latenciesMs: latencies, codes, errors, cpuMs: (cpu.user + cpu.system) / 1000, seconds: request.seconds })}\n`,
    );
}

main().catch((error) => {
    process.stderr.write(`node load driver failed: ${error?.stack ?? error}\n`);
    process.exit(1);
});
