#!/usr/bin/env node
'use strict';
// The built CLI (services/cli/dist, `npm run build`); see docs/cli.md.
require('../dist/main.js').main(process.argv.slice(2));
