/** Folder of static files the server also serves (the front end, if any). */
export const staticDir = 'public';
