import { fetchOhifDist, OHIF_VERSION } from '@cxr/devstack';

// `npm run fetch:ohif`: the prebuilt OHIF viewer the browser test serves (cached in .cache/ohif).
const started = performance.now();
const dist = fetchOhifDist(process.argv[2] ?? OHIF_VERSION);
console.log(`OHIF ${process.argv[2] ?? OHIF_VERSION} at ${dist} (${Math.round(performance.now() - started)} ms)`);
