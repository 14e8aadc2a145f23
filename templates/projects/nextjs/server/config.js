/** Folder of static files the server also serves: the `next build` static export. */
export const staticDir = 'out';
