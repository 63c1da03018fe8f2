/** The built web client's directory (index.html, assets/), for the gateway to serve. */
export declare const WEB_ROOT: string;
