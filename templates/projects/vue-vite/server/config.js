/** Folder of static files the server also serves: the Vite build output. */
export const staticDir = 'dist';
