// msgpackr-extract is an optional native speed-up for msgpackr (pulled in by bullmq). The npm
// registry reachable here serves only some platforms' prebuilt binaries, so its lockfile entries
// break `npm ci`. This stand-in is wired in through `overrides` in the root package.json; it fails
// to load, which msgpackr treats as "native extension absent" and falls back to its pure-JS path.
throw new Error('msgpackr-extract is disabled in this project (pure-JS msgpackr is used)');
