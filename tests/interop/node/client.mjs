// Drives the official @hyperledger/fabric-gateway client for the interop tests (tests/interop).
//
// Reads one JSON request on stdin:
//   {address, tlsRootCertPath, mspId, certPath, keyPath, channel, chaincode, actions: [...]}
// and prints one JSON line on stdout: {results: [...]}, one result per action, in order. An action
// that fails yields {ok: false, error: {...}} and the next action still runs.
//
// Actions (binary values are base64):
//   {type: "evaluate", fn, args}                 -> {result, resultBase64}
//   {type: "submit", fn, args}                   -> {result, resultBase64, transactionId, status}
//   {type: "events", startBlock?, count, payloadPrefix?, timeoutMs?, submitWhileListening?: {fn, args}}
//                                                -> {events: [{blockNumber, transactionId, chaincodeName,
//                                                    eventName, payload, payloadBase64}]}
//   {type: "newProposal", fn, args}              -> unsigned {proposalBase64, digestBase64, transactionId}
//   {type: "submitProposal", proposalBase64, signatureBase64?}
//        a proposal serialized elsewhere; without a signature this client signs its digest itself
//                                                -> {digestBase64, result, transactionId, status}
//   {type: "submitTransaction", transactionBase64, signatureBase64?}
//        an endorsed transaction serialized elsewhere, signed here unless a signature is given
//                                                -> {digestBase64, transactionId, status}
// Errors: {name, code (numeric gRPC status), message, grpcDetails, details: [{address, mspId, message}],
// transactionId?}. Nothing secret is printed: only results, ids and digests the tests compare.

import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';

import * as grpc from '@grpc/grpc-js';
import { connect, signers } from '@hyperledger/fabric-gateway';

const utf8 = new TextDecoder();

function base64(bytes) {
    return Buffer.from(bytes).toString('base64');
}

function fromBase64(text) {
    return new Uint8Array(Buffer.from(text ?? '', 'base64'));
}

function describeStatus(status) {
    return {
        code: status.code,
        successful: status.successful,
        blockNumber: Number(status.blockNumber),
        transactionId: status.transactionId,
    };
}

function describeError(error) {
    return {
        name: error.name ?? 'Error',
        code: error.code ?? error.cause?.code ?? null,
        message: error.message ?? String(error),
        grpcDetails: error.cause?.details ?? null,
        details: (error.details ?? []).map((d) => ({ address: d.address, mspId: d.mspId, message: d.message })),
        transactionId: error.transactionId ?? null,
    };
}

async function readStdin() {
    const chunks = [];
    for await (const chunk of process.stdin) {
        chunks.push(chunk);
    }
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function submitted(transaction) {
    const commit = await transaction.submit();
    return describeStatus(await commit.getStatus());
}

async function collectEvents(network, chaincode, action) {
    const options = action.startBlock === undefined ? {} : { startBlock: BigInt(action.startBlock) };
    const events = await network.getChaincodeEvents(chaincode, options);
    const timer = setTimeout(() => events.close(), action.timeoutMs ?? 10000);
    const seen = [];
    let writer = Promise.resolve();
    if (action.submitWhileListening) {
        const { fn, args } = action.submitWhileListening;
        // Give the stream time to open before the transaction it should report is committed.
        writer = new Promise((resolve) => setTimeout(resolve, 300)).then(() =>
            network.getContract(chaincode).submitTransaction(fn, ...(args ?? [])),
        );
    }
    try {
        for await (const event of events) {
            const payload = event.payload;
            if (action.payloadPrefix && !utf8.decode(payload).startsWith(action.payloadPrefix)) {
                continue;
            }
            seen.push({
                blockNumber: Number(event.blockNumber),
                transactionId: event.transactionId,
                chaincodeName: event.chaincodeName,
                eventName: event.eventName,
                payload: utf8.decode(payload),
                payloadBase64: base64(payload),
            });
            if (seen.length >= action.count) {
                break;
            }
        }
    } finally {
        clearTimeout(timer);
        events.close();
        await writer;
    }
    return { events: seen };
}

async function run(gateway, request, action) {
    const network = gateway.getNetwork(request.channel);
    const contract = network.getContract(request.chaincode);
    const args = action.args ?? [];
    switch (action.type) {
        case 'evaluate': {
            const result = await contract.evaluateTransaction(action.fn, ...args);
            return { result: utf8.decode(result), resultBase64: base64(result) };
        }
        case 'submit': {
            const transaction = await contract.newProposal(action.fn, { arguments: args }).endorse();
            const result = transaction.getResult();
            const status = await submitted(transaction);
            return {
                result: utf8.decode(result),
                resultBase64: base64(result),
                transactionId: transaction.getTransactionId(),
                status,
            };
        }
        case 'events':
            return collectEvents(network, request.chaincode, action);
        case 'newProposal': {
            const proposal = contract.newProposal(action.fn, { arguments: args });
            return {
                proposalBase64: base64(proposal.getBytes()),
                digestBase64: base64(proposal.getDigest()),
                transactionId: proposal.getTransactionId(),
            };
        }
        case 'submitProposal': {
            // An empty signature leaves the proposal unsigned, so endorse() signs it with our signer.
            const proposal = gateway.newSignedProposal(
                fromBase64(action.proposalBase64),
                fromBase64(action.signatureBase64),
            );
            const digestBase64 = base64(proposal.getDigest());
            const transaction = await proposal.endorse();
            const result = transaction.getResult();
            return {
                digestBase64,
                result: utf8.decode(result),
                transactionId: proposal.getTransactionId(),
                status: await submitted(transaction),
            };
        }
        case 'submitTransaction': {
            const transaction = gateway.newSignedTransaction(
                fromBase64(action.transactionBase64),
                fromBase64(action.signatureBase64),
            );
            const digestBase64 = base64(transaction.getDigest());
            return { digestBase64, transactionId: transaction.getTransactionId(), status: await submitted(transaction) };
        }
        default:
            throw new Error(`unknown action type ${JSON.stringify(action.type)}`);
    }
}

async function main() {
    const request = await readStdin();
    const client = new grpc.Client(request.address, grpc.credentials.createSsl(readFileSync(request.tlsRootCertPath)), {
        'grpc.ssl_target_name_override': request.serverName ?? 'localhost',
    });
    const gateway = connect({
        client,
        identity: { mspId: request.mspId, credentials: readFileSync(request.certPath) },
        signer: signers.newPrivateKeySigner(crypto.createPrivateKey(readFileSync(request.keyPath))),
        evaluateOptions: () => ({ deadline: Date.now() + 10000 }),
        endorseOptions: () => ({ deadline: Date.now() + 10000 }),
        submitOptions: () => ({ deadline: Date.now() + 10000 }),
        commitStatusOptions: () => ({ deadline: Date.now() + 10000 }),
    });
    const results = [];
    try {
        for (const action of request.actions) {
            try {
                results.push({ ok: true, ...(await run(gateway, request, action)) });
            } catch (error) {
                results.push({ ok: false, error: describeError(error) });
            }
        }
    } finally {
        gateway.close();
        client.close();
    }
    process.stdout.write(`${JSON.stringify({ results })}\n`);
}

main().catch((error) => {
    process.stderr.write(`interop client failed: ${error?.stack ?? error}\n`);
    process.exit(1);
});
