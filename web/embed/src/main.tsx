import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import App from './App.tsx';
import { readConfig } from './config.ts';
import { reportHeight } from './height.ts';
import './style.css';

const cfg = readConfig();
document.documentElement.lang = cfg.lang;
const mount = document.getElementById('kc-embed');
if (mount) {
  createRoot(mount).render(
    <StrictMode>
      <App cfg={cfg} />
    </StrictMode>,
  );
}
reportHeight(); // inside a portal's frame: its height to the portal, whenever it changes
