// The module js-bindings/sdk/build-paywall.mjs generates (dist/paywall/page-script.js): the page's script
// and style sheet, built from src/paywall/page/, with their sha256 (base64) for the Content-Security-Policy.
export declare const PAGE_SCRIPT: string;
export declare const PAGE_SCRIPT_SHA256: string;
export declare const PAGE_STYLE: string;
export declare const PAGE_STYLE_SHA256: string;
