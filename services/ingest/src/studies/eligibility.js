"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.decideEligibility = decideEligibility;
function allowed(list, value) {
    var v = (value !== null && value !== void 0 ? value : '').trim().toUpperCase();
    return list.some(function (item) { return item.toUpperCase() === v; });
}
function decideEligibility(rules, input) {
    if (!input.hasPixelData)
        return { eligible: false, reason: "no pixel data (SOP class ".concat(input.sopClassUid, ")") };
    if (!allowed(rules.modalities, input.modality)) {
        return { eligible: false, reason: "modality ".concat(input.modality || '(absent)', " is not analysed (allowed: ").concat(rules.modalities.filter(Boolean).join(', '), ")") };
    }
    if (!allowed(rules.bodyParts, input.bodyPartExamined)) {
        return { eligible: false, reason: "body part ".concat(input.bodyPartExamined || '(absent)', " is not analysed") };
    }
    if (!allowed(rules.viewPositions, input.viewPosition)) {
        return { eligible: false, reason: "view position ".concat(input.viewPosition || '(absent)', " is not analysed (frontal views only)") };
    }
    if (!allowed(rules.photometricInterpretations, input.photometricInterpretation)) {
        return { eligible: false, reason: "photometric interpretation ".concat(input.photometricInterpretation || '(absent)', " is not analysed") };
    }
    if (input.numberOfFrames !== 1)
        return { eligible: false, reason: "".concat(input.numberOfFrames, " frames; single-frame radiographs only") };
    return { eligible: true };
}
