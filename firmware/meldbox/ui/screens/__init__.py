"""The panel's screens. Each draws its content area and answers the four buttons;
panel.py owns the frame (status bar, hints) and the navigation between them."""
