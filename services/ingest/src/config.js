"use strict";
var __assign = (this && this.__assign) || function () {
    __assign = Object.assign || function(t) {
        for (var s, i = 1, n = arguments.length; i < n; i++) {
            s = arguments[i];
            for (var p in s) if (Object.prototype.hasOwnProperty.call(s, p))
                t[p] = s[p];
        }
        return t;
    };
    return __assign.apply(this, arguments);
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.envSchema = void 0;
exports.loadConfig = loadConfig;
var zod_1 = require("zod");
var platform_1 = require("@cxr/platform");
exports.envSchema = platform_1.sharedEnvSchema.extend({
    INGEST_DIMSE_HOST: zod_1.z.string().default('127.0.0.1'),
    INGEST_DIMSE_PORT: platform_1.portSchema.default(11112),
    INGEST_AE_TITLE: zod_1.z.string().regex(/^[\x20-\x7e]{1,16}$/).default('INGEST'),
    /** Comma-separated calling AE titles allowed to associate; empty = any. */
    INGEST_ALLOWED_CALLING_AETS: platform_1.listSchema.default([]),
    INGEST_MAX_ASSOCIATIONS: platform_1.positiveIntSchema.default(16),
    INGEST_MAX_PDU_LENGTH: zod_1.z.coerce.number().int().min(4096).max(131072).default(131072),
    INGEST_HTTP_HOST: zod_1.z.string().default('127.0.0.1'),
    INGEST_HTTP_PORT: platform_1.portSchema.default(8080),
    /** Largest single instance accepted (DIMSE and STOW-RS). */
    INGEST_MAX_INSTANCE_BYTES: platform_1.positiveIntSchema.default(512 * 1024 * 1024),
    /** Largest STOW-RS request body. */
    INGEST_STOW_MAX_REQUEST_BYTES: platform_1.positiveIntSchema.default(1024 * 1024 * 1024),
    /**
     * API keys for STOW-RS senders, `name:key` pairs separated by commas. Empty = no
     * authentication (local runs only; the service logs a warning).
     */
    INGEST_STOW_API_KEYS: platform_1.listSchema.default([]),
    /** A STOW-RS study is complete when no instance arrived for this long. */
    INGEST_STUDY_STABLE_MS: platform_1.positiveIntSchema.default(3000),
    INGEST_STUDY_CONCURRENCY: platform_1.positiveIntSchema.default(2),
    /** Secret for pseudonymous keys handed to analysis. Change it in production. */
    PSEUDONYM_SECRET: zod_1.z.string().min(16).default('local-development-pseudonym-secret'),
    /** Long side of the stored analysis input image (px). */
    INGEST_ANALYSIS_MAX_SIZE: platform_1.positiveIntSchema.default(1024),
    INGEST_ELIGIBLE_MODALITIES: platform_1.listSchema.default(['CR', 'DX']),
    INGEST_ELIGIBLE_BODY_PARTS: platform_1.listSchema.default(['CHEST', '']),
    INGEST_ELIGIBLE_VIEW_POSITIONS: platform_1.listSchema.default(['PA', 'AP', '']),
    INGEST_ELIGIBLE_PHOTOMETRIC: platform_1.listSchema.default(['MONOCHROME1', 'MONOCHROME2']),
    INGEST_METRICS_ENABLED: platform_1.booleanSchema.default(true),
});
function loadConfig(env) {
    var e = (0, platform_1.parseEnv)(exports.envSchema, env);
    var apiKeys = new Map();
    for (var _i = 0, _a = e.INGEST_STOW_API_KEYS; _i < _a.length; _i++) {
        var pair = _a[_i];
        var at = pair.indexOf(':');
        if (at <= 0 || at === pair.length - 1) {
            throw new Error('INGEST_STOW_API_KEYS: malformed setting (expected name:key pairs separated by commas)');
        }
        apiKeys.set(pair.slice(at + 1), pair.slice(0, at));
    }
    return __assign(__assign({}, (0, platform_1.toSharedConfig)(e)), { dimse: {
            host: e.INGEST_DIMSE_HOST,
            port: e.INGEST_DIMSE_PORT,
            aeTitle: e.INGEST_AE_TITLE,
            allowedCallingAeTitles: e.INGEST_ALLOWED_CALLING_AETS,
            maxAssociations: e.INGEST_MAX_ASSOCIATIONS,
            maxPduLength: e.INGEST_MAX_PDU_LENGTH,
        }, http: { host: e.INGEST_HTTP_HOST, port: e.INGEST_HTTP_PORT }, maxInstanceBytes: e.INGEST_MAX_INSTANCE_BYTES, stow: { maxRequestBytes: e.INGEST_STOW_MAX_REQUEST_BYTES, apiKeys: apiKeys }, studyStableMs: e.INGEST_STUDY_STABLE_MS, studyConcurrency: e.INGEST_STUDY_CONCURRENCY, pseudonymSecret: e.PSEUDONYM_SECRET, analysisMaxSize: e.INGEST_ANALYSIS_MAX_SIZE, eligibility: {
            modalities: e.INGEST_ELIGIBLE_MODALITIES,
            bodyParts: e.INGEST_ELIGIBLE_BODY_PARTS,
            viewPositions: e.INGEST_ELIGIBLE_VIEW_POSITIONS,
            photometricInterpretations: e.INGEST_ELIGIBLE_PHOTOMETRIC,
        } });
}
