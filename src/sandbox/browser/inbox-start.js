/**
 * The last part of the inbox page's script: starts polling, and opens the letter named in the
 * URL's #fragment. Everything below this comment is inlined as it is.
 */

tick();
if (location.hash.length > 1) select(location.hash.slice(1));
